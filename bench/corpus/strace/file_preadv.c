#include "common.h"

int main(void)
{
    int fd = open("v", O_RDWR|O_CREAT, 0644); char a[] = "abc", b[] = "defg"; struct iovec iov[2] = {{a, 3}, {b, 4}}; pwritev(fd, iov, 2, 16); char x[3], y[4]; struct iovec r[2] = {{x, 3}, {y, 4}}; preadv(fd, r, 2, 16); preadv2(fd, r, 2, 0, RWF_HIPRI); pwritev2(fd, iov, 1, -1, 0); close(fd); unlink("v");
    return 0;
}
