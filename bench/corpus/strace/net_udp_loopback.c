#include "common.h"

int main(void)
{
    int s = socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0); struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}; bind(s, (struct sockaddr *)&a, sizeof a); socklen_t l = sizeof a; getsockname(s, (struct sockaddr *)&a, &l); sendto(s, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a); char b[16]; struct sockaddr_in f; socklen_t fl = sizeof f; recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&f, &fl); close(s);
    return 0;
}
