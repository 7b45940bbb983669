/* socket() domains, types and flags; netlink bind/getsockname; raw sockets; bad arguments */
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    int b = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    int c = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    int d = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    int e = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    int n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_groups = 0};
    bind(n, (struct sockaddr *)&nl, sizeof nl);
    socklen_t l = sizeof nl;
    getsockname(n, (struct sockaddr *)&nl, &l);
    int k = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
    socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP);
    socket(AF_INET, 0x20, 0);
    socket(AF_PACKET, SOCK_DGRAM, 0);
    socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    close(a); close(b); close(c); close(d); close(e); close(n); close(k);
    return 0;
}
