#include "common.h"

int main(void)
{
    timer_t t; struct sigevent ev = {.sigev_notify = SIGEV_NONE}; timer_create(CLOCK_MONOTONIC, &ev, &t); struct itimerspec it = {{0, 0}, {10, 0}}; timer_settime(t, 0, &it, NULL); timer_gettime(t, &it); timer_getoverrun(t); timer_delete(t);
    return 0;
}
