#include "common.h"

int main(void)
{
    int fd = open(".", O_RDONLY|O_DIRECTORY); struct stat st; fstat(fd, &st); fstatat(AT_FDCWD, ".", &st, AT_SYMLINK_NOFOLLOW); close(fd);
    return 0;
}
