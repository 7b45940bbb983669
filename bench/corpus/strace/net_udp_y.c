/* bench sets: yy */
#include "common.h"
#include <sys/socket.h>

int main(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(a, (struct sockaddr *)&sa, sizeof sa);
    socklen_t l = sizeof sa;
    getsockname(a, (struct sockaddr *)&sa, &l);
    int b = socket(AF_INET, SOCK_DGRAM, 0);
    connect(b, (struct sockaddr *)&sa, sizeof sa);
    send(b, "ping", 4, 0);
    char buf[8];
    recv(a, buf, sizeof buf, 0);
    close(b);
    close(a);
    return 0;
}
