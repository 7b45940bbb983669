#include "common.h"

int main(void)
{
    int fd = openat(AT_FDCWD, "g", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600); close(fd);
    fd = openat(AT_FDCWD, "g", O_RDONLY|O_NOFOLLOW|O_NONBLOCK); close(fd); openat(AT_FDCWD, "missing", O_RDONLY); unlink("g");
    return 0;
}
