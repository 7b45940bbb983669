#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) { pause(); _exit(0); } kill(c, SIGTERM); int st; waitpid(c, &st, 0);
    return 0;
}
