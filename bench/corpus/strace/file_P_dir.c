/* bench sets: P=-f -P sub; Pfile=-f -P sub/f -P missing */
#include "common.h"
#include <sys/stat.h>

int main(void)
{
    mkdir("sub", 0755);
    int d = open("sub", O_RDONLY | O_DIRECTORY);
    int f = openat(d, "f", O_WRONLY | O_CREAT, 0600);
    write(f, "x", 1);
    close(f);
    struct stat st;
    stat("sub/f", &st);
    fstatat(d, "f", &st, 0);
    chmod("sub/f", 0644);
    access("sub", R_OK);
    fchdir(d);
    unlink("f");
    chdir("..");
    rmdir("sub");
    close(d);
    return 0;
}
