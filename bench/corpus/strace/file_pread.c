#include "common.h"

int main(void)
{
    int fd = open("p", O_RDWR|O_CREAT, 0644); pwrite(fd, "abcdef", 6, 4); char b[8]; pread(fd, b, 4, 5); close(fd); unlink("p");
    return 0;
}
