#include "common.h"

int main(void)
{
    struct timespec ts = {0, 500000}; clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &(struct timespec){0, 0}, NULL); nanosleep(&ts, NULL);
    return 0;
}
