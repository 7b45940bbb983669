/* bench sets: y */
#include "common.h"
#include <sys/wait.h>

int main(void)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        write(p[1], "child", 5);
        close(p[1]);
        _exit(0);
    }
    wait4(pid, NULL, 0, NULL); /* the child's lines first: no race to print */
    close(p[1]);
    char b[8];
    read(p[0], b, sizeof b);
    read(p[0], b, sizeof b);
    close(p[0]);
    return 0;
}
