/* failing calls, one errno each: how each -1 ERRNO (text) is printed */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    char buf[8];
    mkdir("d", 0755);
    close(open("d/f", O_CREAT | O_WRONLY, 0644));
    open("nothing", O_RDONLY);                           /* ENOENT */
    mkdir("d", 0755);                                    /* EEXIST */
    open("d/f/x", O_RDONLY);                             /* ENOTDIR */
    open("d", O_WRONLY);                                 /* EISDIR */
    rmdir("d");                                          /* ENOTEMPTY */
    lseek(0, -5, SEEK_SET);                              /* EINVAL or ESPIPE */
    int p[2]; pipe(p);
    lseek(p[0], 0, SEEK_CUR);                            /* ESPIPE */
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    write(p[1], "x", 1);                                 /* EPIPE */
    read(99, buf, 1);                                    /* EBADF */
    read(p[1], (char *)1, 1);                            /* EBADF (write end) */
    symlink("loop", "loop");
    open("loop", O_RDONLY);                              /* ELOOP */
    char longname[300]; for (int i = 0; i < 299; i++) longname[i] = 'n'; longname[299] = 0;
    mkdir(longname, 0755);                               /* ENAMETOOLONG */
    kill(999999, 0);                                     /* ESRCH */
    wait4(-1, NULL, WNOHANG, NULL);                      /* ECHILD */
    int z = open("/dev/null", O_RDONLY);
    ioctl(z, 0x5401, buf);                               /* ENOTTY */
    syscall(999);                                        /* ENOSYS */
    getcwd(buf, 2);                                      /* ERANGE */
    socket(12345, SOCK_STREAM, 0);                       /* EAFNOSUPPORT */
    socket(AF_INET, SOCK_STREAM, 250);                   /* EPROTONOSUPPORT */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    send(s, "x", 1, 0);                                  /* EPIPE / ENOTCONN */
    getsockopt(s, SOL_SOCKET, 9999, buf, &(socklen_t){4}); /* ENOPROTOOPT */
    listen(z, 1);                                        /* ENOTSOCK */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    send(u, "x", 1, 0);                                  /* EDESTADDRREQ */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1), .sin_addr.s_addr = htonl(0x7f000001)};
    connect(s, (struct sockaddr *)&a, sizeof a);         /* ECONNREFUSED */
    accept(u, NULL, NULL);                               /* EOPNOTSUPP */
    rename("d", "/proc/x");                              /* EXDEV */
    open("/proc/version", O_WRONLY);                     /* EACCES */
    unlink("/proc/version");                             /* EACCES/EPERM */
    link("d", "d2");                                     /* EPERM */
    struct rlimit rl = {3, 3};
    setrlimit(RLIMIT_NOFILE, &rl);
    dup(0);                                              /* EMFILE */
    errno = 0;
    return 0;
}
