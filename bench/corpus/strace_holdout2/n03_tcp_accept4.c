/* AF_INET TCP on lo: bind port 0, listen, getsockname, connect, accept4, send/recv, shutdown */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); a.sin_port = 0;
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 8);
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_in peer; socklen_t pl = sizeof peer;
    int s = accept4(ls, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK);
    send(c, "ping\n", 5, MSG_NOSIGNAL);
    char b[16];
    recv(s, b, sizeof b, 0);
    recv(s, b, sizeof b, MSG_DONTWAIT);
    shutdown(c, SHUT_WR);
    recv(s, b, sizeof b, 0);
    shutdown(s, SHUT_RDWR);
    close(c); close(s); close(ls);
    return 0;
}
