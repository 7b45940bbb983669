/* fcntl: dupfd, fd flags, status flags, owner, signals, leases, notify, pipe size, ownex */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
int main(void) {
    int f = open("file", O_CREAT | O_RDWR, 0644);
    fcntl(f, F_DUPFD, 10);
    fcntl(f, F_DUPFD_CLOEXEC, 0);
    fcntl(f, F_SETFD, FD_CLOEXEC);
    fcntl(f, F_GETFD);
    fcntl(f, F_SETFL, O_APPEND | O_NONBLOCK | O_NOATIME);
    fcntl(f, F_GETFL);
    fcntl(f, F_SETOWN, getpid());
    fcntl(f, F_GETOWN);
    fcntl(f, F_SETSIG, SIGIO);
    fcntl(f, F_GETSIG);
    struct f_owner_ex ox = {F_OWNER_TID, 0};
    fcntl(f, F_GETOWN_EX, &ox);
    ox.type = F_OWNER_PGRP; ox.pid = 0;
    fcntl(f, F_SETOWN_EX, &ox);
    fcntl(f, F_GETLEASE);
    int r = open("file", O_RDONLY);
    fcntl(r, F_SETLEASE, F_RDLCK);
    fcntl(r, F_GETLEASE);
    fcntl(r, F_SETLEASE, F_UNLCK);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    fcntl(d, F_NOTIFY, DN_CREATE | DN_DELETE | DN_MULTISHOT);
    int p[2]; pipe(p);
    fcntl(p[0], F_GETPIPE_SZ);
    fcntl(p[0], F_SETPIPE_SZ, 8192);
    fcntl(f, F_GETPIPE_SZ);
    fcntl(f, 12345);
    fcntl(99, F_GETFD);
    return 0;
}
