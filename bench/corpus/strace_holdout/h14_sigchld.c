#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
static volatile sig_atomic_t got;
static void on_chld(int s) { got = 1; }
int main(void) {
    struct sigaction sa = {0}; sa.sa_handler = on_chld; sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    pid_t p = fork();
    if (p == 0) _exit(7);
    int st; while (waitpid(p, &st, 0) < 0) ;
    return WEXITSTATUS(st) == 7 ? 0 : 1;
}
