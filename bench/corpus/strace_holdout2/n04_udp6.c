/* AF_INET6 UDP on ::1: bind, sendto, recvfrom with source address, connect AF_UNSPEC */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int r = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6; a.sin6_addr = in6addr_loopback; a.sin6_port = htons(47911);
    bind(r, (struct sockaddr *)&a, sizeof a);
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sendto(s, "datagram", 8, 0, (struct sockaddr *)&a, sizeof a);
    char b[64]; struct sockaddr_in6 from; socklen_t fl = sizeof from;
    recvfrom(r, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    connect(s, (struct sockaddr *)&a, sizeof a);
    send(s, "x", 1, 0);
    recv(r, b, sizeof b, MSG_TRUNC);
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    connect(s, &un, sizeof un);
    struct sockaddr_in v4 = {0};
    v4.sin_family = AF_INET; v4.sin_port = htons(9); v4.sin_addr.s_addr = htonl(0x7f000001);
    sendto(s, "y", 1, 0, (struct sockaddr *)&v4, sizeof v4);
    close(s); close(r);
    return 0;
}
