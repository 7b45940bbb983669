#include "common.h"

int main(void)
{
    int fd = open("l", O_RDWR|O_CREAT, 0644); write(fd, "0123456789", 10); lseek(fd, 2, SEEK_SET); lseek(fd, -1, SEEK_END); lseek(fd, 0, SEEK_CUR); lseek(fd, 0, SEEK_DATA); close(fd); unlink("l");
    return 0;
}
