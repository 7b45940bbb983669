#include "common.h"

int main(void)
{
    void *a = mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); madvise(a, 16384, MADV_DONTNEED); madvise(a, 4096, MADV_WILLNEED); madvise(a, 4096, MADV_DONTFORK); unsigned char v[4]; mincore(a, 16384, v); munmap(a, 16384);
    return 0;
}
