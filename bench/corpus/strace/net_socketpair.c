#include "common.h"

int main(void)
{
    int sv[2]; socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, sv); send(sv[0], "hi", 2, 0); char b[8]; recv(sv[1], b, sizeof b, 0); shutdown(sv[0], SHUT_WR); recv(sv[1], b, sizeof b, 0); close(sv[0]); close(sv[1]);
    return 0;
}
