#include "common.h"
#include <sys/socket.h>

int main(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    sendto(sv[0], "datagram", 8, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
    char b[4];
    recvfrom(sv[1], b, sizeof b, MSG_PEEK | MSG_TRUNC, NULL, NULL);
    recvfrom(sv[1], b, sizeof b, MSG_TRUNC, NULL, NULL);
    recvfrom(sv[1], b, sizeof b, MSG_DONTWAIT, NULL, NULL);
    send(sv[0], "", 0, MSG_CONFIRM);
    recv(sv[1], b, sizeof b, MSG_WAITALL);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
