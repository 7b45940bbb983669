/* *at() calls with AT_ flags: fstatat, faccessat2, fchmodat, linkat, unlinkat, readlinkat, renameat2 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    mkdirat(AT_FDCWD, "dir", 0750);
    int d = openat(AT_FDCWD, "dir", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    int f = openat(d, "a", O_CREAT | O_EXCL | O_WRONLY | O_TRUNC, 0640);
    close(f);
    symlinkat("a", d, "lnk");
    struct stat st;
    fstatat(d, "lnk", &st, AT_SYMLINK_NOFOLLOW);
    fstatat(d, "", &st, AT_EMPTY_PATH);
    syscall(SYS_faccessat2, d, "lnk", R_OK | W_OK, AT_SYMLINK_NOFOLLOW | AT_EACCESS);
    fchmodat(d, "a", 0600, 0);
    linkat(d, "lnk", d, "hard", AT_SYMLINK_FOLLOW);
    char buf[64];
    readlinkat(d, "lnk", buf, sizeof buf);
    readlinkat(d, "lnk", buf, 1);
    renameat2(d, "a", d, "hard", RENAME_EXCHANGE);
    renameat2(d, "a", d, "hard", RENAME_NOREPLACE);
    int o = openat(d, "lnk", O_PATH | O_NOFOLLOW);
    fstatat(o, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    fchownat(d, "a", -1, 0, AT_SYMLINK_NOFOLLOW);
    unlinkat(d, "lnk", 0);
    unlinkat(d, "hard", 0);
    unlinkat(d, "a", 0);
    unlinkat(AT_FDCWD, "dir", AT_REMOVEDIR);
    unlinkat(AT_FDCWD, "dir", 0x1);
    close(o); close(d);
    return 0;
}
