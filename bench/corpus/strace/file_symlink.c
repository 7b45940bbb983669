#include "common.h"

int main(void)
{
    symlink("target", "l"); symlinkat("target2", AT_FDCWD, "m"); char b[64]; readlink("l", b, sizeof b); readlinkat(AT_FDCWD, "m", b, sizeof b); unlink("l"); unlink("m");
    return 0;
}
