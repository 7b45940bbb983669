#include "common.h"

int main(void)
{
    struct timespec ts = {0, 1000000}; nanosleep(&ts, NULL); struct timespec rem; clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);
    return 0;
}
