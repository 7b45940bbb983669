#include "common.h"

int main(void)
{
    int fd = open("/dev/null", O_RDONLY);
    dup3(fd, 10, O_CLOEXEC);
    fcntl(10, F_GETFD);
    fcntl(10, F_SETFD, 0);
    fcntl(10, F_GETFD);
    fcntl(fd, F_DUPFD, 20);
    fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND);
    fcntl(fd, F_GETFL);
    dup3(fd, fd, 0);
    dup3(fd, 11, O_NONBLOCK);
    close(10);
    close(20);
    close(fd);
    return 0;
}
