#include "common.h"

int main(void)
{
    signal(SIGUSR1, on_signal); union sigval v = {.sival_int = 42}; sigqueue(getpid(), SIGUSR1, v);
    return 0;
}
