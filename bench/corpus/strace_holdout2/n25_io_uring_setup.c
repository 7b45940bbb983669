/* io_uring_setup with params and flags, a bad entry count, io_uring_register/enter errors */
#include <linux/io_uring.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int fd = syscall(SYS_io_uring_setup, 4, &p);
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE;
    p.cq_entries = 16;
    int fd2 = syscall(SYS_io_uring_setup, 2, &p);
    memset(&p, 0, sizeof p);
    syscall(SYS_io_uring_setup, 0, &p);
    syscall(SYS_io_uring_setup, 4, NULL);
    syscall(SYS_io_uring_enter, fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
    syscall(SYS_io_uring_register, fd, 9999, NULL, 0);
    syscall(SYS_io_uring_register, fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
    close(fd); close(fd2);
    return 0;
}
