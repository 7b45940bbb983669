/* dup3 flags, close_range with CLOSE_RANGE_CLOEXEC/UNSHARE, fcntl checks */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    int f = open("/dev/null", O_RDONLY);
    dup3(f, 10, O_CLOEXEC);
    dup3(f, 11, 0);
    dup3(f, f, 0);
    dup3(f, 12, O_NONBLOCK);
    dup2(f, 13);
    dup2(f, f);
    syscall(SYS_close_range, 10, 11, CLOSE_RANGE_CLOEXEC);
    fcntl(11, F_GETFD);
    syscall(SYS_close_range, 12, ~0U, CLOSE_RANGE_UNSHARE);
    syscall(SYS_close_range, 5, 4, 0);
    syscall(SYS_close_range, 10, 11, 0x8);
    close(10);
    return 0;
}
