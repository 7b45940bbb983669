#include "common.h"

int main(void)
{
    syscall(SYS_keyctl, 0, -4, 0); syscall(SYS_add_key, "user", "corpus", "secretdata", 10, -4);
    return 0;
}
