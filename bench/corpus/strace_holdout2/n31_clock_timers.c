/* clock_getres over clocks, clock_nanosleep absolute in the past, POSIX timers SIGEV_NONE/THREAD_ID */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec r;
    clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
                       CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
                       CLOCK_TAI, 42};
    for (unsigned i = 0; i < sizeof ids / sizeof *ids; i++) clock_getres(ids[i], &r);
    struct timespec past = {1, 500};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL);
    struct timespec rel = {0, 1000};
    clock_nanosleep(CLOCK_BOOTTIME, 0, &rel, NULL);
    clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &rel, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    timer_t t1, t2;
    timer_create(CLOCK_MONOTONIC, &sev, &t1);
    sev.sigev_notify = SIGEV_THREAD_ID; sev.sigev_signo = SIGUSR2; sev._sigev_un._tid = gettid();
    sev.sigev_value.sival_int = 3;
    signal(SIGUSR2, SIG_IGN);
    timer_create(CLOCK_REALTIME, &sev, &t2);
    struct itimerspec its = {{0, 0}, {100, 0}}, old;
    timer_settime(t1, 0, &its, &old);
    timer_gettime(t1, &old);
    timer_getoverrun(t1);
    timer_delete(t1);
    timer_delete(t2);
    timer_delete(t1);
    return 0;
}
