#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) { setsid(); getsid(0); setpgid(0, 0); getpgid(0); _exit(0); } waitpid(c, NULL, 0);
    return 0;
}
