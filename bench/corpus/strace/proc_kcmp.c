#include "common.h"

int main(void)
{
    pid_t me = getpid(); int fd = open(".", O_RDONLY); syscall(SYS_kcmp, me, me, KCMP_FILE, fd, fd); syscall(SYS_kcmp, me, me, KCMP_VM, 0, 0); close(fd);
    return 0;
}
