#include "common.h"

int main(void)
{
    close(creat("a", 0644)); link("a", "b"); linkat(AT_FDCWD, "b", AT_FDCWD, "c", AT_SYMLINK_FOLLOW); unlink("a"); unlink("b"); unlinkat(AT_FDCWD, "c", 0);
    return 0;
}
