/* bench sets: y yy */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 1);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int ac = accept(s, NULL, NULL);
    write(c, "hi", 2);
    char b[4];
    read(ac, b, sizeof b);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "y", 1);
    read(sv[1], b, 1);
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "sock"};
    bind(u, (struct sockaddr *)&un, sizeof un);
    sendto(u, "q", 1, 0, (struct sockaddr *)&un, sizeof un);
    recv(u, b, 1, 0);
    int ab = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un an = {.sun_family = AF_UNIX, .sun_path = "\0tracerd-bench-abstract"};
    bind(ab, (struct sockaddr *)&an, offsetof(struct sockaddr_un, sun_path) + 23);
    listen(ab, 1);
    int ud = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    connect(ud, (struct sockaddr *)&ua, sizeof ua);
    send(ud, "u", 1, 0);
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bind(s6, (struct sockaddr *)&a6, sizeof a6);
    listen(s6, 1);
    shutdown(c, SHUT_WR);
    close(ud); close(s6); close(ab); close(u); close(sv[0]); close(sv[1]);
    close(ac); close(c); close(s);
    unlink("sock");
    return 0;
}
