#include "common.h"

int main(void)
{
    char b[4]; write(77, "x", 1); read(88, b, 1); close(55); fcntl(66, F_GETFL); dup(99); fsync(-5);
    return 0;
}
