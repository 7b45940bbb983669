#include "common.h"

int main(void)
{
    int sv[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, sv); sendto(sv[0], "abc", 3, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0); char b[8]; recvfrom(sv[1], b, sizeof b, MSG_PEEK, NULL, NULL); recvfrom(sv[1], b, sizeof b, MSG_DONTWAIT, NULL, NULL); recvfrom(sv[1], b, sizeof b, MSG_DONTWAIT, NULL, NULL); close(sv[0]); close(sv[1]);
    return 0;
}
