#include "common.h"

int main(void)
{
    close(creat("a", 0644)); rename("a", "b"); renameat(AT_FDCWD, "b", AT_FDCWD, "c"); syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "d", RENAME_NOREPLACE); unlink("d");
    return 0;
}
