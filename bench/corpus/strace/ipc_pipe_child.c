#include "common.h"

int main(void)
{
    int p[2]; pipe(p); pid_t c = fork(); if (c == 0) { close(p[0]); write(p[1], "child", 5); _exit(0); } close(p[1]); char b[8]; read(p[0], b, 8); waitpid(c, NULL, 0); close(p[0]);
    return 0;
}
