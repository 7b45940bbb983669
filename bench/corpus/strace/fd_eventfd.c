#include "common.h"

int main(void)
{
    int fd = eventfd(3, EFD_CLOEXEC|EFD_NONBLOCK); uint64_t v = 2; write(fd, &v, 8); read(fd, &v, 8); close(fd); fd = eventfd(0, EFD_SEMAPHORE); close(fd);
    return 0;
}
