#include "common.h"

int main(void)
{
    mkdir("d", 0755); mkdirat(AT_FDCWD, "d/e", 0700); rmdir("d/e"); unlinkat(AT_FDCWD, "d", AT_REMOVEDIR); rmdir("nope");
    return 0;
}
