/* bench sets: yy */
#include "common.h"
#include <sys/socket.h>

int main(void)
{
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 1);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    write(c, "six", 3);
    char b[4];
    read(d, b, sizeof b);
    close(d);
    close(c);
    close(s);
    return 0;
}
