#include "common.h"

int main(void)
{
    close(creat("a", 0644)); chmod("a", 0600); int fd = open("a", O_RDONLY); fchmod(fd, 0444); fchmodat(AT_FDCWD, "a", 04755, 0); close(fd); unlink("a");
    return 0;
}
