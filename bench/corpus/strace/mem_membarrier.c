#include "common.h"

int main(void)
{
    syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0); syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0); syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    return 0;
}
