#include "common.h"

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0); int v; socklen_t l = sizeof v; getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l); getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l); v = 1; setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v); struct linger lg = {1, 5}; setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l); close(s);
    return 0;
}
