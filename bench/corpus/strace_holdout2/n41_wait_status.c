/* children ending by exit code and by signal, wait4 with WNOHANG/__WALL, waitid WEXITED|WNOWAIT */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int st;
    pid_t a = fork();
    if (a == 0) _exit(3);
    wait4(a, &st, 0, NULL);
    pid_t b = fork();
    if (b == 0) { raise(SIGTERM); _exit(0); }
    wait4(b, &st, __WALL, NULL);
    pid_t c = fork();
    if (c == 0) _exit(0);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    waitid(P_ALL, 0, &si, WEXITED);
    wait4(-1, &st, WNOHANG, NULL);
    waitid(P_PGID, 0, &si, WEXITED | WNOHANG);
    return 0;
}
