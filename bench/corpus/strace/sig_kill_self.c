#include "common.h"

int main(void)
{
    signal(SIGUSR1, on_signal); kill(getpid(), SIGUSR1); raise(SIGUSR2 - 1 + 1 - 1 + 1 - 0 ? SIGUSR1 : SIGUSR1);
    return 0;
}
