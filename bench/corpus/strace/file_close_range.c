#include "common.h"

int main(void)
{
    int fd = open(".", O_RDONLY); dup2(fd, 20); dup2(fd, 21); syscall(SYS_close_range, 20, 21, 0); syscall(SYS_close_range, fd, fd, CLOSE_RANGE_CLOEXEC); close(fd);
    return 0;
}
