/* AF_UNIX: bind a path, connect errors, abstract names, getpeername, unlink */
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX; strcpy(a.sun_path, "sock");
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 5);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 1);
    connect(c, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_un p; socklen_t pl = sizeof p;
    getpeername(c, (struct sockaddr *)&p, &pl);
    pl = sizeof p;
    int s = accept(l, (struct sockaddr *)&p, &pl);
    pl = sizeof p;
    getsockname(s, (struct sockaddr *)&p, &pl);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un ab = {0};
    ab.sun_family = AF_UNIX; memcpy(ab.sun_path, "\0abs\0name", 9);
    bind(d, (struct sockaddr *)&ab, offsetof(struct sockaddr_un, sun_path) + 9);
    pl = sizeof p;
    getsockname(d, (struct sockaddr *)&p, &pl);
    int e = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(e, "q", 1, 0, (struct sockaddr *)&ab, offsetof(struct sockaddr_un, sun_path) + 9);
    pl = 2;
    getsockname(d, (struct sockaddr *)&p, &pl);
    unlink("sock");
    close(e); close(d); close(s); close(l); close(c);
    return 0;
}
