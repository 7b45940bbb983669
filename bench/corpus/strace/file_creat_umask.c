#include "common.h"

int main(void)
{
    umask(022); int fd = creat("c", 0751); close(fd); umask(077); unlink("c");
    return 0;
}
