#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) _exit(0); int st; struct rusage ru; wait4(c, &st, 0, &ru); getrusage(RUSAGE_SELF, &ru); getrusage(RUSAGE_CHILDREN, &ru);
    return 0;
}
