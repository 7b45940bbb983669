#include "common.h"

int main(void)
{
    void *a = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); mprotect(a, 4096, PROT_READ); munmap(a, 8192); mmap(NULL, 4096, PROT_NONE, MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0);
    return 0;
}
