#include "common.h"
#include <sys/timerfd.h>

int main(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {{0, 0}, {0, 0}};
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
    its.it_value.tv_sec = 100;
    its.it_interval.tv_nsec = 500000000;
    struct itimerspec old;
    timerfd_settime(fd, 0, &its, &old);
    timerfd_gettime(-1, &old);
    uint64_t n;
    read(fd, &n, sizeof n);
    close(fd);
    return 0;
}
