#include "common.h"

int main(void)
{
    struct open_how how = {.flags = O_RDONLY|O_CLOEXEC, .resolve = RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS}; int fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how); close(fd); struct open_how h2 = {.flags = O_WRONLY|O_CREAT, .mode = 0640}; fd = syscall(SYS_openat2, AT_FDCWD, "o2", &h2, sizeof h2); close(fd); unlink("o2");
    return 0;
}
