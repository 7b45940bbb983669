#include "common.h"

int main(void)
{
    sigset_t m, o; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGRTMIN); sigprocmask(SIG_BLOCK, &m, &o); sigprocmask(SIG_UNBLOCK, &m, NULL); sigfillset(&m); sigprocmask(SIG_SETMASK, &m, &o); sigprocmask(SIG_SETMASK, &o, NULL);
    return 0;
}
