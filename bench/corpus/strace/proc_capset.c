#include "common.h"
#include <linux/capability.h>
#include <sys/syscall.h>

int main(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    syscall(SYS_capset, &h, d);
    h.pid = getpid();
    syscall(SYS_capget, &h, d);
    d[0].inheritable = 1u << CAP_NET_RAW;
    syscall(SYS_capset, &h, d);
    struct __user_cap_header_struct v1 = {_LINUX_CAPABILITY_VERSION_1, 0};
    syscall(SYS_capget, &v1, d);
    struct __user_cap_header_struct bad = {0x12345678, 0};
    syscall(SYS_capget, &bad, d);
    syscall(SYS_capget, &h, NULL);
    syscall(SYS_capget, NULL, d);
    return 0;
}
