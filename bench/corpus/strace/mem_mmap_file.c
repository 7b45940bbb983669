#include "common.h"

int main(void)
{
    int fd = open("mf", O_RDWR|O_CREAT, 0644); ftruncate(fd, 4096); void *a = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0); msync(a, 4096, MS_SYNC|MS_INVALIDATE); munmap(a, 4096); close(fd); unlink("mf");
    return 0;
}
