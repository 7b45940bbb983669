#include "common.h"

int main(void)
{
    mknod("fifo", S_IFIFO|0644, 0); mknodat(AT_FDCWD, "reg", S_IFREG|0600, 0); mkfifo("fifo2", 0600); unlink("fifo"); unlink("reg"); unlink("fifo2");
    return 0;
}
