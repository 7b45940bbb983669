/* xattrs: XATTR_CREATE/REPLACE, binary values, size queries, list, lsetxattr on a symlink */
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>
int main(void) {
    close(open("f", O_CREAT | O_WRONLY, 0644));
    symlink("f", "l");
    setxattr("f", "user.a", "value-one", 9, XATTR_CREATE);
    setxattr("f", "user.a", "x", 1, XATTR_CREATE);
    setxattr("f", "user.b", "\x00\x01\x02\xff\n", 5, 0);
    setxattr("f", "user.c", "v", 1, XATTR_REPLACE);
    char buf[128];
    getxattr("f", "user.a", NULL, 0);
    getxattr("f", "user.b", buf, sizeof buf);
    getxattr("f", "user.a", buf, 2);
    getxattr("f", "user.none", buf, sizeof buf);
    listxattr("f", NULL, 0);
    listxattr("f", buf, sizeof buf);
    llistxattr("l", buf, sizeof buf);
    lsetxattr("l", "user.x", "1", 1, 0);
    int fd = open("f", O_RDWR);
    fsetxattr(fd, "trusted.t", "tt", 2, 0);
    fgetxattr(fd, "trusted.t", buf, sizeof buf);
    flistxattr(fd, buf, sizeof buf);
    fremovexattr(fd, "trusted.t");
    removexattr("f", "user.none");
    lremovexattr("l", "user.a");
    setxattr("f", "bogus.ns", "v", 1, 0);
    close(fd);
    return 0;
}
