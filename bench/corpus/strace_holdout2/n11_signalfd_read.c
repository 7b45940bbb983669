/* signalfd4 on a blocked mask, raise, read a signalfd_siginfo, sigprocmask restore */
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
int main(void) {
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGUSR2); sigaddset(&m, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int f = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    struct signalfd_siginfo si;
    read(f, &si, sizeof si);
    kill(getpid(), SIGUSR2);
    read(f, &si, sizeof si);
    sigdelset(&m, SIGUSR2);
    signalfd(f, &m, 0);
    signalfd(-1, &m, 0x7);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    close(f);
    return 0;
}
