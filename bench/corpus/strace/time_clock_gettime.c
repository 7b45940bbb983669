#include "common.h"

int main(void)
{
    struct timespec ts; syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts); syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts); syscall(SYS_clock_getres, CLOCK_BOOTTIME, &ts); syscall(SYS_clock_getres, CLOCK_PROCESS_CPUTIME_ID, NULL);
    return 0;
}
