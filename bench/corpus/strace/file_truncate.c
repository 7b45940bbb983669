#include "common.h"

int main(void)
{
    int fd = creat("t", 0644); ftruncate(fd, 4096); truncate("t", 100); close(fd); unlink("t");
    return 0;
}
