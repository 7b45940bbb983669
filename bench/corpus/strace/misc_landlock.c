#include "common.h"

int main(void)
{
    syscall(SYS_landlock_create_ruleset, NULL, 0, 1);
    return 0;
}
