#include "common.h"

int main(void)
{
    struct rlimit r; getrlimit(RLIMIT_NOFILE, &r); setrlimit(RLIMIT_CORE, &r); getrlimit(RLIMIT_STACK, &r); struct rlimit n = {1024, 4096}; prlimit(0, RLIMIT_NOFILE, &n, &r);
    return 0;
}
