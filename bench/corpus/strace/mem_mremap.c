#include "common.h"

int main(void)
{
    void *a = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); void *b = mremap(a, 4096, 8192, MREMAP_MAYMOVE); munmap(b, 8192);
    return 0;
}
