#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
int main(void) {
    int fd = open("a.tmp", O_WRONLY | O_CREAT | O_EXCL, 0640);
    write(fd, "v1", 2); fsync(fd); close(fd);
    rename("a.tmp", "a");
    struct stat st; lstat("a", &st);
    symlink("a", "link");
    char t[16]; ssize_t n = readlink("link", t, sizeof t);
    unlink("link"); unlink("a");
    return n == 1 ? 0 : 1;
}
