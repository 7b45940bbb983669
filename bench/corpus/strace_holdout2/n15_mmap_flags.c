/* mmap flags, mprotect, madvise advice values, msync, mlock2 ONFAULT, munmap */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    size_t pg = 4096;
    char *a = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *b = mmap(NULL, pg, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    mmap(NULL, pg, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x8000000, -1, 0);
    mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_GROWSDOWN, -1, 0);
    mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 55, 0);
    mprotect(a, pg, PROT_NONE);
    mprotect(a + pg, pg, PROT_READ | PROT_EXEC);
    mprotect(a + 1, pg, PROT_READ);
    madvise(a, pg, MADV_DONTNEED);
    madvise(a, pg, MADV_FREE);
    madvise(a, 2 * pg, MADV_HUGEPAGE);
    madvise(a, pg, MADV_COLD);
    madvise(a, pg, MADV_PAGEOUT);
    madvise(a, pg, MADV_WILLNEED);
    madvise(a, pg, MADV_DONTFORK);
    madvise(a, pg, MADV_DODUMP);
    madvise(a, pg, 999);
    msync(b, pg, MS_ASYNC | MS_INVALIDATE);
    msync(b, pg, MS_SYNC);
    mlock2(a + 2 * pg, pg, MLOCK_ONFAULT);
    munlock(a + 2 * pg, pg);
    munmap(a, 8 * pg);
    munmap(b, pg);
    return 0;
}
