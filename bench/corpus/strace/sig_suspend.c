#include "common.h"

int main(void)
{
    signal(SIGALRM, on_signal); sigset_t m; sigemptyset(&m); struct itimerval it = {{0, 0}, {0, 20000}}; setitimer(ITIMER_REAL, &it, NULL); sigsuspend(&m);
    return 0;
}
