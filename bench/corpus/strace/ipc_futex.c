#include "common.h"

int main(void)
{
    int f = 0; syscall(SYS_futex, &f, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); struct timespec ts = {0, 1000}; syscall(SYS_futex, &f, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0); syscall(SYS_futex, &f, FUTEX_WAIT, 0, &ts, NULL, 0);
    return 0;
}
