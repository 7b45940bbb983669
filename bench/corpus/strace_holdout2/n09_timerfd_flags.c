/* timerfd: CLOCK_BOOTTIME, TFD_NONBLOCK, abstime + cancel-on-set, gettime, read, EINVAL */
#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    int t = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {{0, 0}, {0, 1000000}}, old;
    timerfd_settime(t, 0, &its, &old);
    uint64_t n;
    read(t, &n, sizeof n);
    struct timespec s = {0, 0};
    nanosleep(&(struct timespec){0, 3000000}, NULL);
    read(t, &n, sizeof n);
    read(t, &n, sizeof n);
    int u = timerfd_create(CLOCK_REALTIME, 0);
    its.it_value.tv_sec = 1; its.it_value.tv_nsec = 0; its.it_interval.tv_sec = 0;
    timerfd_settime(u, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
    its.it_value.tv_nsec = 2000000000;
    timerfd_settime(u, 0, &its, NULL);
    timerfd_create(CLOCK_MONOTONIC, 0x40);
    timerfd_create(99, 0);
    (void)s;
    close(t); close(u);
    return 0;
}
