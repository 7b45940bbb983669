#include "common.h"

int main(void)
{
    int fd = open("k", O_RDWR|O_CREAT, 0644); struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10}; fcntl(fd, F_SETLK, &fl); fcntl(fd, F_GETLK, &fl); fl.l_type = F_UNLCK; fcntl(fd, F_SETLKW, &fl); struct flock ofl = {.l_type = F_RDLCK}; fcntl(fd, F_OFD_SETLK, &ofl); close(fd); unlink("k");
    return 0;
}
