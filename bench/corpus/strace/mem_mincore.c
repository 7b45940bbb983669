#include "common.h"
#include <sys/mman.h>

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 6 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[2 * page] = 1;
    m[5 * page] = 1;
    unsigned char vec[64];
    mincore(m, 6 * page, vec);
    mincore(m, page, vec);
    mincore(m + 1, page, vec);
    mincore(m, 6 * page, NULL);
    char *big = mmap(NULL, 48 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mincore(big, 48 * page, vec);
    munmap(big, 48 * page);
    munmap(m, 6 * page);
    mincore(m, page, vec);
    return 0;
}
