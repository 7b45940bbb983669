/* sched_*: affinity set/get, param, priority ranges, rr interval, setattr/getattr, yield */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
struct sched_attr {
    unsigned size, sched_policy;
    unsigned long long sched_flags;
    int sched_nice;
    unsigned sched_priority;
    unsigned long long sched_runtime, sched_deadline, sched_period;
    unsigned sched_util_min, sched_util_max;
};
int main(void) {
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(0, &s);
    sched_setaffinity(0, sizeof s, &s);
    sched_getaffinity(0, sizeof s, &s);
    sched_getaffinity(0, 1, &s);
    struct sched_param sp;
    sched_getparam(0, &sp);
    sched_get_priority_max(SCHED_FIFO);
    sched_get_priority_min(SCHED_RR);
    sched_get_priority_max(77);
    struct timespec ts;
    sched_rr_get_interval(0, &ts);
    struct sched_attr at;
    memset(&at, 0, sizeof at);
    syscall(SYS_sched_getattr, 0, &at, sizeof at, 0);
    at.size = sizeof at; at.sched_policy = SCHED_BATCH; at.sched_nice = 5;
    syscall(SYS_sched_setattr, 0, &at, 0);
    sched_getscheduler(0);
    sp.sched_priority = 0;
    sched_setscheduler(0, SCHED_IDLE, &sp);
    sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp);
    sched_yield();
    return 0;
}
