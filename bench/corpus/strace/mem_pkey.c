#include "common.h"

int main(void)
{
    int k = syscall(SYS_pkey_alloc, 0, 0); if (k >= 0) syscall(SYS_pkey_free, k);
    return 0;
}
