/* bench sets: y yy */
#include "common.h"
#include <sys/mman.h>
#include <sys/stat.h>

int main(void)
{
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello", 5);
    lseek(fd, 0, SEEK_SET);
    char b[8];
    read(fd, b, sizeof b);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    int f2 = openat(d, "data", O_RDONLY);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, f2, 0);
    munmap(m, 4096);
    dup2(fd, 20);
    close(20);
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 30);
    close(n);
    int p[2];
    pipe2(p, O_CLOEXEC);
    write(p[1], "x", 1);
    int dn = open("/dev/null", O_WRONLY);
    write(dn, "z", 1);
    struct stat st;
    fstat(dn, &st);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    int ev_fd = eventfd(3, EFD_CLOEXEC);
    int mf = memfd_create("scratch", MFD_CLOEXEC);
    ftruncate(mf, 4096);
    fchdir(d);
    unlinkat(d, "data", 0);
    fstat(fd, &st);
    close(ev_fd); close(mf); close(ep); close(fd); close(f2); close(d); close(-1);
    return 0;
}
