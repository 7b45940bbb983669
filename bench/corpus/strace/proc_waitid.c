#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) _exit(5); siginfo_t si; waitid(P_PID, c, &si, WEXITED);
    return 0;
}
