#include "common.h"

int main(void)
{
    signal(SIGUSR2, on_signal); syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2); syscall(SYS_tkill, syscall(SYS_gettid), 0);
    return 0;
}
