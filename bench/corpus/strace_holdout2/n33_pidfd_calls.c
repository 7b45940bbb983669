/* pidfd_open, pidfd_getfd, pidfd_send_signal, a child reaped through its pidfd */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int pf = syscall(SYS_pidfd_open, getpid(), 0);
    int f = open("/dev/null", O_RDONLY);
    int g = syscall(SYS_pidfd_getfd, pf, f, 0);
    syscall(SYS_pidfd_getfd, pf, 99, 0);
    syscall(SYS_pidfd_send_signal, pf, 0, NULL, 0);
    syscall(SYS_pidfd_open, getpid(), 0x1);
    syscall(SYS_pidfd_open, 0, 0);
    syscall(SYS_pidfd_send_signal, f, SIGTERM, NULL, 0);
    close(g); close(f); close(pf);
    return 0;
}
