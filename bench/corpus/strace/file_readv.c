#include "common.h"

int main(void)
{
    int fd = open("v", O_RDWR|O_CREAT, 0644); char a[] = "hello ", b[] = "world\n"; struct iovec iov[2] = {{a, 6}, {b, 6}}; writev(fd, iov, 2); lseek(fd, 0, SEEK_SET); char x[4], y[8]; struct iovec r[2] = {{x, 4}, {y, 8}}; readv(fd, r, 2); close(fd); unlink("v");
    return 0;
}
