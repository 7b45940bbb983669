#include "common.h"

int main(void)
{
    struct itimerval it = {{0, 0}, {100, 0}}, old; setitimer(ITIMER_REAL, &it, &old); getitimer(ITIMER_REAL, &old); struct itimerval z = {{0, 0}, {0, 0}}; setitimer(ITIMER_REAL, &z, NULL); setitimer(ITIMER_VIRTUAL, &z, NULL);
    return 0;
}
