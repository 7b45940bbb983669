#include "common.h"

int main(void)
{
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigprocmask(SIG_BLOCK, &m, NULL); kill(getpid(), SIGUSR1); sigset_t p; sigpending(&p); struct timespec ts = {0, 0}; siginfo_t si; sigtimedwait(&m, &si, &ts);
    return 0;
}
