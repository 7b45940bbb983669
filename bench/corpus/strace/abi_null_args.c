#include "common.h"

int main(void)
{
    stat(NULL, NULL); open(NULL, 0); syscall(SYS_readlink, "/proc/self/exe", NULL, 0); syscall(SYS_uname, NULL); syscall(SYS_sysinfo, NULL);
    return 0;
}
