#include "common.h"

static volatile int got;
static void on(int sig, siginfo_t *si, void *ctx) { got = si->si_value.sival_int; }

int main(void)
{
    struct sigaction sa = {.sa_sigaction = on, .sa_flags = SA_SIGINFO};
    sigaction(SIGRTMIN + 1, &sa, NULL);
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGRTMIN + 1, v);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGRTMIN + 2);
    struct timespec t = {0, 0};
    sigtimedwait(&set, NULL, &t);
    return got == 42 ? 0 : 1;
}
