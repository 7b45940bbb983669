/* bench sets: P=-f -P pf; Pdev=-f -P /dev/null -P nothing */
#include "common.h"
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>

int main(void)
{
    int d = open(".", O_RDONLY | O_DIRECTORY);
    int fd = openat(d, "pf", O_RDWR | O_CREAT, 0644);
    write(fd, "ab", 2);
    int g = open("pf", O_RDONLY);
    char b[4];
    read(g, b, 2);
    struct stat st;
    fstat(g, &st);
    stat("pf", &st);
    int h = dup(g);
    dup2(g, 30);
    close(30);
    struct pollfd pf = {g, POLLIN, 0};
    poll(&pf, 1, 0);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(g, &rs);
    struct timeval tv = {0, 0};
    select(g + 1, &rs, NULL, NULL, &tv);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, g, 0);
    munmap(m, 4096);
    rename("pf", "pg");
    rename("pg", "pf");
    int dn = open("/dev/null", O_WRONLY);
    write(dn, "zz", 2);
    close(dn);
    getpid();
    close(h);
    kill(getpid(), SIGWINCH);
    close(g);
    close(fd);
    unlink("pf");
    return 3;
}
