/* clone3 with CLONE_PIDFD and an exit signal, waitid on the pidfd, clone3 errors */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int pidfd = -1;
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0) syscall(SYS_exit_group, 4);
    siginfo_t si;
    waitid(P_PIDFD, pidfd, &si, WEXITED);
    close(pidfd);
    syscall(SYS_clone3, &ca, 8);
    ca.flags = CLONE_THREAD;
    syscall(SYS_clone3, &ca, sizeof ca);
    return 0;
}
