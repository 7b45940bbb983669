#include "common.h"

int main(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK); struct itimerspec it = {{0, 0}, {5, 0}}, old; timerfd_settime(fd, 0, &it, &old); timerfd_gettime(fd, &old); struct itimerspec z = {{0, 0}, {0, 0}}; timerfd_settime(fd, TFD_TIMER_ABSTIME, &z, NULL); close(fd);
    return 0;
}
