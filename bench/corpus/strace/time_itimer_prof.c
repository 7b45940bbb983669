#include "common.h"
#include <sys/time.h>

int main(void)
{
    struct itimerval v = {{0, 0}, {5, 250000}}, old;
    setitimer(ITIMER_PROF, &v, &old);
    setitimer(ITIMER_VIRTUAL, &v, NULL);
    struct itimerval z = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &z, NULL);
    setitimer(ITIMER_VIRTUAL, &z, NULL);
    getitimer(ITIMER_REAL, &old);
    setitimer(7, &z, NULL);
    return 0;
}
