#include "common.h"

int main(void)
{
    struct timespec ts;
    clock_getres(CLOCK_MONOTONIC, &ts);
    clock_getres(CLOCK_REALTIME_COARSE, &ts);
    clock_getres(CLOCK_BOOTTIME, &ts);
    clock_getres(123, &ts);
    struct timespec bad = {0, 2000000000};
    clock_settime(CLOCK_MONOTONIC, &bad);
    struct timespec d = {0, 1000};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
    clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL);
    return 0;
}
