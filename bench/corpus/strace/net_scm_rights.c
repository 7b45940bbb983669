#include "common.h"

int main(void)
{
    int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv); int fd = open(".", O_RDONLY); char buf[CMSG_SPACE(sizeof(int))]; memset(buf, 0, sizeof buf); struct iovec iov = {"x", 1}; struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf}; struct cmsghdr *c = CMSG_FIRSTHDR(&m); c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int)); memcpy(CMSG_DATA(c), &fd, sizeof fd); sendmsg(sv[0], &m, 0); char r[1]; struct iovec ri = {r, 1}; char rb[CMSG_SPACE(sizeof(int))]; struct msghdr n = {.msg_iov = &ri, .msg_iovlen = 1, .msg_control = rb, .msg_controllen = sizeof rb}; recvmsg(sv[1], &n, MSG_CMSG_CLOEXEC); close(sv[0]); close(sv[1]);
    return 0;
}
