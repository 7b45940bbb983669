#include "common.h"
#include <sys/resource.h>

int main(void)
{
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    struct rlimit lower = {64, r.rlim_max};
    setrlimit(RLIMIT_NOFILE, &lower);
    struct rlimit old;
    prlimit(0, RLIMIT_CORE, NULL, &old);
    struct rlimit core = {0, 0};
    prlimit(0, RLIMIT_CORE, &core, &old);
    prlimit(-1, RLIMIT_CPU, NULL, &old);
    getrlimit(RLIMIT_NOFILE, &r);
    return 0;
}
