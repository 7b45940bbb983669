#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    int p[2]; pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1); close(p[0]); close(p[1]);
        execl("/bin/echo", "echo", "hello", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char b[32]; read(p[0], b, sizeof b);
    close(p[0]);
    int st; waitpid(pid, &st, 0);
    return 0;
}
