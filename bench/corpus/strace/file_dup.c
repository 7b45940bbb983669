#include "common.h"

int main(void)
{
    int fd = open(".", O_RDONLY); int a = dup(fd); dup2(a, 10); dup3(10, 11, O_CLOEXEC); close(a); close(10); close(11); close(fd); close(99);
    return 0;
}
