#include "common.h"

int main(void)
{
    int fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t v;
    read(fd, &v, sizeof v);
    read(fd, &v, sizeof v);
    read(fd, &v, sizeof v);
    v = 5;
    write(fd, &v, sizeof v);
    read(fd, &v, 4);
    close(fd);
    return 0;
}
