/* chdir/fchdir/getcwd/chroot and failures */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    char b[256];
    mkdir("sub", 0700);
    int top = open(".", O_RDONLY | O_DIRECTORY);
    chdir("sub");
    getcwd(b, sizeof b);
    fchdir(top);
    chdir("nothing");
    int f = open("sub/../x", O_CREAT | O_WRONLY, 0600);
    fchdir(f);
    chdir("x");
    chroot("sub");
    chdir("/");
    getcwd(b, sizeof b);
    return 0;
}
