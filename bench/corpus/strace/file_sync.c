#include "common.h"

int main(void)
{
    int fd = open("sy", O_RDWR|O_CREAT, 0644); write(fd, "x", 1); fsync(fd); fdatasync(fd); sync_file_range(fd, 0, 1, SYNC_FILE_RANGE_WRITE); syncfs(fd); close(fd); unlink("sy");
    return 0;
}
