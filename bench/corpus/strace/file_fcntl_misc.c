#include "common.h"

int main(void)
{
    int fd = open(".", O_RDONLY); fcntl(fd, F_GETFD); fcntl(fd, F_SETFD, FD_CLOEXEC); fcntl(fd, F_GETFL); fcntl(fd, F_SETFL, O_NONBLOCK); int d = fcntl(fd, F_DUPFD_CLOEXEC, 10); close(d); fcntl(fd, F_DUPFD, 20); close(20); close(fd);
    return 0;
}
