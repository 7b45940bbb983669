#include "common.h"

int main(void)
{
    close(creat("a", 0644)); chown("a", -1, -1); lchown("a", 0, 0); fchownat(AT_FDCWD, "a", -1, 0, 0); fchownat(AT_FDCWD, "a", 0, -1, AT_SYMLINK_NOFOLLOW); int fd = open("a", O_RDONLY); fchown(fd, -1, -1); close(fd); unlink("a");
    return 0;
}
