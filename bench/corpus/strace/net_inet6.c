#include "common.h"

int main(void)
{
    int s = socket(AF_INET6, SOCK_DGRAM, 0); struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT, .sin6_port = htons(9)}; connect(s, (struct sockaddr *)&a, sizeof a); struct sockaddr_in6 p; socklen_t l = sizeof p; getpeername(s, (struct sockaddr *)&p, &l); close(s);
    return 0;
}
