#include "common.h"

int main(void)
{
    void *a = mmap((void *)0x200000000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0); munmap(a, 4096); mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0);
    return 0;
}
