#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(srv, (struct sockaddr *)&a, sizeof a);
    listen(srv, 4);
    socklen_t len = sizeof a; getsockname(srv, (struct sockaddr *)&a, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(srv, NULL, NULL);
    send(c, "echo", 4, 0);
    char b[8]; ssize_t n = recv(s, b, sizeof b, 0);
    send(s, b, n, 0);
    recv(c, b, sizeof b, 0);
    close(s); close(c); close(srv);
    return 0;
}
