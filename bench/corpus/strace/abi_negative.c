#include "common.h"

int main(void)
{
    syscall(SYS_lseek, 0, -1, SEEK_SET); syscall(SYS_read, -1, NULL, 0); syscall(SYS_write, 1, NULL, 0); syscall(SYS_mlock, NULL, 0);
    return 0;
}
