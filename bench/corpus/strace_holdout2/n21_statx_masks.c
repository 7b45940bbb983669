/* statx with masks and AT_STATX_* sync flags, on a path, an fd, errors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    struct statx sx;
    statx(AT_FDCWD, "/", AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE, &sx);
    statx(AT_FDCWD, "/dev/null", AT_STATX_DONT_SYNC, STATX_TYPE, &sx);
    int f = open("/dev/null", O_RDONLY);
    statx(f, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, STATX_MODE | STATX_NLINK, &sx);
    statx(AT_FDCWD, "nothing", 0, STATX_ALL, &sx);
    statx(AT_FDCWD, "/", 0x40000000, STATX_BASIC_STATS, &sx);
    statx(AT_FDCWD, "/", 0, 0x80000000U, &sx);
    close(f);
    return 0;
}
