#include "common.h"

int main(void)
{
    struct sigaction sa = {0}; sa.sa_handler = on_signal; sigemptyset(&sa.sa_mask); sigaddset(&sa.sa_mask, SIGINT); sa.sa_flags = SA_RESTART; sigaction(SIGUSR1, &sa, NULL); struct sigaction old; sigaction(SIGUSR1, NULL, &old); signal(SIGPIPE, SIG_IGN); signal(SIGPIPE, SIG_DFL);
    return 0;
}
