#include "common.h"

int main(void)
{
    syscall(SYS_seccomp, 99, 0, NULL);
    return 0;
}
