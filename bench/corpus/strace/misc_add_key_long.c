/* bench sets: s8 */
#include "common.h"
#include <linux/keyctl.h>
#include <sys/syscall.h>

int main(void)
{
    const char payload[] = "a payload longer than eight bytes and than thirty-two bytes too";
    long k = syscall(SYS_add_key, "user", "tracerd:a-long-description-of-a-key", payload,
                     sizeof payload - 1, KEY_SPEC_PROCESS_KEYRING);
    char buf[128];
    syscall(SYS_keyctl, KEYCTL_READ, k, buf, sizeof buf);
    syscall(SYS_keyctl, KEYCTL_DESCRIBE, k, buf, sizeof buf);
    syscall(SYS_keyctl, KEYCTL_UPDATE, k, "short", 5);
    syscall(SYS_request_key, "user", "tracerd:a-long-description-of-a-key", NULL,
            KEY_SPEC_PROCESS_KEYRING);
    syscall(SYS_keyctl, KEYCTL_UNLINK, k, KEY_SPEC_PROCESS_KEYRING);
    return 0;
}
