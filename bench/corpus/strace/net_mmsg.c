#include "common.h"

int main(void)
{
    int sv[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, sv); struct iovec i1 = {"aa", 2}, i2 = {"bbb", 3}; struct mmsghdr m[2] = {{.msg_hdr = {.msg_iov = &i1, .msg_iovlen = 1}}, {.msg_hdr = {.msg_iov = &i2, .msg_iovlen = 1}}}; sendmmsg(sv[0], m, 2, 0); char x[4], y[4]; struct iovec r1 = {x, 4}, r2 = {y, 4}; struct mmsghdr n[2] = {{.msg_hdr = {.msg_iov = &r1, .msg_iovlen = 1}}, {.msg_hdr = {.msg_iov = &r2, .msg_iovlen = 1}}}; recvmmsg(sv[1], n, 2, MSG_DONTWAIT, NULL); close(sv[0]); close(sv[1]);
    return 0;
}
