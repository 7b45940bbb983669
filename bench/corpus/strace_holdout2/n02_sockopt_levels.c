/* getsockopt/setsockopt across SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int v = 1; socklen_t l = sizeof v;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
    v = 65536; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    l = sizeof v; getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l);
    l = sizeof v; getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
    l = sizeof v; getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
    l = sizeof v; getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l);
    l = sizeof v; getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &l);
    struct timeval tv = {2, 500000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    l = sizeof tv; getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, &l);
    v = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
    v = 30; setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
    l = sizeof v; getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &v, &l);
    v = 64; setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof v);
    v = 0x10; setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof v);
    l = sizeof v; getsockopt(s, IPPROTO_IP, IP_TTL, &v, &l);
    char small[2]; l = sizeof small; getsockopt(s, SOL_SOCKET, SO_RCVBUF, small, &l);
    v = 1; setsockopt(s, SOL_SOCKET, 12345, &v, sizeof v);
    setsockopt(s, 999, 1, &v, sizeof v);
    close(s);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    v = 1; setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v);
    l = sizeof v; getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
    v = 5; setsockopt(s6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v);
    close(s6);
    return 0;
}
