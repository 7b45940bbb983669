#include "common.h"

int main(void)
{
    char b[256]; mkdir("sub", 0755); chdir("sub"); syscall(SYS_getcwd, b, sizeof b); chdir(".."); int fd = open("sub", O_RDONLY|O_DIRECTORY); fchdir(fd); chdir(".."); close(fd); rmdir("sub");
    return 0;
}
