#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) { raise(SIGSTOP); _exit(0); } int st; waitpid(c, &st, WUNTRACED); kill(c, SIGCONT); waitpid(c, &st, 0);
    return 0;
}
