#include "common.h"

int main(void)
{
    int fd = open("f", O_WRONLY|O_CREAT|O_TRUNC, 0644); write(fd, "hello\n", 6); close(fd);
    fd = open("f", O_RDONLY); char b[16]; read(fd, b, sizeof b); close(fd); unlink("f");
    return 0;
}
