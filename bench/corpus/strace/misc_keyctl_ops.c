#include "common.h"
#include <linux/keyctl.h>
#include <sys/syscall.h>

int main(void)
{
    long ring = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "tracerd-bench");
    long k = syscall(SYS_add_key, "user", "tracerd:ops", "value", 5, ring);
    char buf[64];
    syscall(SYS_keyctl, KEYCTL_DESCRIBE, k, buf, sizeof buf);
    syscall(SYS_keyctl, KEYCTL_READ, k, buf, 3);
    syscall(SYS_keyctl, KEYCTL_READ, k, NULL, 0);
    syscall(SYS_keyctl, KEYCTL_UPDATE, k, "newer", 5);
    syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "user", "tracerd:ops", 0);
    syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, k, 600);
    syscall(SYS_keyctl, KEYCTL_SETPERM, k, 0x3f010000);
    syscall(SYS_keyctl, KEYCTL_CHOWN, k, -1, -1);
    syscall(SYS_keyctl, KEYCTL_GET_SECURITY, k, buf, sizeof buf);
    syscall(SYS_keyctl, KEYCTL_LINK, k, KEY_SPEC_PROCESS_KEYRING);
    syscall(SYS_keyctl, KEYCTL_UNLINK, k, KEY_SPEC_PROCESS_KEYRING);
    syscall(SYS_keyctl, KEYCTL_SET_REQKEY_KEYRING, KEY_REQKEY_DEFL_DEFAULT);
    syscall(SYS_keyctl, KEYCTL_INVALIDATE, k);
    syscall(SYS_keyctl, KEYCTL_REVOKE, k);
    syscall(SYS_keyctl, KEYCTL_CLEAR, ring);
    syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    return 0;
}
