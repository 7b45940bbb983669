/* statfs on several filesystem types, fstatfs on a pipe and a socket */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>
int main(void) {
    struct statfs s;
    statfs("/proc", &s);
    statfs("/sys", &s);
    statfs("/dev", &s);
    statfs("/sys/fs/cgroup", &s);
    statfs("/nonexistent", &s);
    int p[2]; pipe(p);
    fstatfs(p[0], &s);
    int so = socket(AF_UNIX, SOCK_STREAM, 0);
    fstatfs(so, &s);
    fstatfs(77, &s);
    close(so); close(p[0]); close(p[1]);
    return 0;
}
