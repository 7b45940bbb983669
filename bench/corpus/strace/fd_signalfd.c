#include "common.h"

int main(void)
{
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigprocmask(SIG_BLOCK, &m, NULL); int fd = signalfd(-1, &m, SFD_CLOEXEC|SFD_NONBLOCK); kill(getpid(), SIGUSR1); struct signalfd_siginfo si; read(fd, &si, sizeof si); close(fd);
    return 0;
}
