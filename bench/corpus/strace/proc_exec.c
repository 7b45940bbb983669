#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) { char *argv[] = {"true", NULL}; char *envp[] = {"A=1", NULL}; execve("/bin/true", argv, envp); _exit(1); } waitpid(c, NULL, 0);
    return 0;
}
