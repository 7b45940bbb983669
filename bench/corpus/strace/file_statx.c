#include "common.h"

int main(void)
{
    struct statx sx; statx(AT_FDCWD, ".", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx); statx(AT_FDCWD, "nope", 0, STATX_MODE|STATX_SIZE, &sx);
    return 0;
}
