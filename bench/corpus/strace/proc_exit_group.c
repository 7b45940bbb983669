#include "common.h"

int main(void)
{
    syscall(SYS_exit_group, 7);
    return 0;
}
