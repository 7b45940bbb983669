#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    for (int i = 0; i < 3; i++) {
        pid_t p = fork();
        if (p == 0) _exit(i);
        int st; waitpid(p, &st, 0);
    }
    return 0;
}
