#include "common.h"

int main(void)
{
    int sv[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, sv); char a[] = "one", c[] = "two"; struct iovec iov[2] = {{a, 3}, {c, 3}}; struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2}; sendmsg(sv[0], &m, 0); char x[8]; struct iovec r = {x, 8}; struct msghdr n = {.msg_iov = &r, .msg_iovlen = 1}; recvmsg(sv[1], &n, 0); close(sv[0]); close(sv[1]);
    return 0;
}
