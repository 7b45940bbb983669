#include "common.h"

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0); int on = 1; setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on); struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}; bind(s, (struct sockaddr *)&a, sizeof a); listen(s, 1); socklen_t l = sizeof a; getsockname(s, (struct sockaddr *)&a, &l); int c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); connect(c, (struct sockaddr *)&a, sizeof a); int d = accept(s, NULL, NULL); setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); send(c, "ping", 4, MSG_NOSIGNAL); char b[8]; recv(d, b, sizeof b, 0); shutdown(c, SHUT_RDWR); close(d); close(c); close(s);
    return 0;
}
