#include "common.h"

int main(void)
{
    close(creat("u", 0644)); struct timespec ts[2] = {{1, 2}, {3, UTIME_OMIT}}; utimensat(AT_FDCWD, "u", ts, 0); struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}}; utimensat(AT_FDCWD, "u", now, AT_SYMLINK_NOFOLLOW); utimensat(AT_FDCWD, "u", NULL, 0); unlink("u");
    return 0;
}
