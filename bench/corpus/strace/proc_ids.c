#include "common.h"

int main(void)
{
    getpid(); getppid(); syscall(SYS_gettid); getuid(); geteuid(); getgid(); getegid(); getpgrp();
    return 0;
}
