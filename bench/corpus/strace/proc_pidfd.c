#include "common.h"

int main(void)
{
    pid_t c = fork(); if (c == 0) { pause(); _exit(0); } int fd = syscall(SYS_pidfd_open, c, 0); syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0); waitpid(c, NULL, 0); close(fd);
    return 0;
}
