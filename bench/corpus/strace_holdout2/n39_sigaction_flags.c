/* rt_sigaction flags and masks, SIG_IGN/SIG_DFL, old actions, invalid signals, full masks */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
static void h(int s) { (void)s; }
int main(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_ONSTACK | SA_NOCLDSTOP;
    sigaddset(&sa.sa_mask, SIGHUP); sigaddset(&sa.sa_mask, SIGTERM); sigaddset(&sa.sa_mask, SIGRTMIN);
    sigaction(SIGCHLD, &sa, &old);
    sigaction(SIGCHLD, NULL, &old);
    sa.sa_handler = SIG_IGN; sa.sa_flags = 0; sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, &old);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &sa, &old);
    sigaction(SIGKILL, &sa, NULL);
    sigaction(0, &sa, NULL);
    sigfillset(&sa.sa_mask);
    sa.sa_handler = h;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t m, o;
    sigfillset(&m);
    sigprocmask(SIG_SETMASK, &m, &o);
    sigdelset(&m, SIGINT); sigdelset(&m, SIGQUIT);
    sigprocmask(SIG_SETMASK, &m, NULL);
    sigprocmask(SIG_SETMASK, &o, NULL);
    sigprocmask(7, &o, NULL);
    sigpending(&m);
    return 0;
}
