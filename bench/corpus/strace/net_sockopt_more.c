#include "common.h"
#include <sys/socket.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int v;
    socklen_t l = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
    l = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
    v = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
    l = sizeof v;
    getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l);
    v = 65536;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
    l = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
    setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v);
    close(s);
    return 0;
}
