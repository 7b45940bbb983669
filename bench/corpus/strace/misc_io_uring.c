#include "common.h"

int main(void)
{
    syscall(SYS_io_uring_setup, 0, NULL);
    return 0;
}
