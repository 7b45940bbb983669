/* SA_SIGINFO handlers, rt_sigqueueinfo, tgkill, kill with a realtime signal, sigtimedwait */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static void h(int s, siginfo_t *i, void *c) { (void)s; (void)i; (void)c; }
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaddset(&sa.sa_mask, SIGINT);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN + 3, &sa, NULL);
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, v);
    syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1);
    kill(getpid(), SIGRTMIN + 3);
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    v.sival_int = -7;
    sigqueue(getpid(), SIGUSR2, v);
    siginfo_t si;
    struct timespec ts = {0, 0};
    sigtimedwait(&m, &si, &ts);
    sigtimedwait(&m, &si, &ts);
    return 0;
}
