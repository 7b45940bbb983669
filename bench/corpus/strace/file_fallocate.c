#include "common.h"

int main(void)
{
    int fd = open("fa", O_RDWR|O_CREAT, 0644); fallocate(fd, 0, 0, 4096); fallocate(fd, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, 0, 512); posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); close(fd); unlink("fa");
    return 0;
}
