#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) _exit(3); int st; wait4(c, &st, 0, NULL);
    return 0;
}
