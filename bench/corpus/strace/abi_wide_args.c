#include "common.h"

int main(void)
{
    syscall(SYS_kill, 0xdead000000000000UL | getpid(), 0); syscall(SYS_close, 0x100000000UL | 77); syscall(SYS_openat, AT_FDCWD, ".", 0xdefaced000000000UL | O_RDONLY | O_CLOEXEC); syscall(SYS_umask, 0xffff0000UL | 022); syscall(SYS_dup, 0xffffffff00000000UL);
    return 0;
}
