#include "common.h"

int main(void)
{
    cpu_set_t s; CPU_ZERO(&s); sched_getaffinity(0, sizeof s, &s); sched_setaffinity(0, sizeof s, &s); sched_yield(); sched_getscheduler(0); struct sched_param sp; sched_getparam(0, &sp); sched_get_priority_max(SCHED_FIFO); sched_get_priority_min(SCHED_RR);
    return 0;
}
