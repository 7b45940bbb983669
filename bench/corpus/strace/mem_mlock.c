#include "common.h"

int main(void)
{
    void *a = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); mlock(a, 4096); munlock(a, 4096); mlock2(a, 4096, MLOCK_ONFAULT); munlock(a, 4096); mlockall(MCL_CURRENT|MCL_FUTURE); munlockall(); munmap(a, 4096);
    return 0;
}
