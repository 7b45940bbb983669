#include "common.h"

int main(void)
{
    struct timespec ts = {0, 2000000000}; nanosleep(&ts, NULL); nanosleep(NULL, NULL); syscall(SYS_clock_gettime, 77, NULL);
    return 0;
}
