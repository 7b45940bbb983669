#include "common.h"
#include <sys/socket.h>

int main(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
    char a[] = "first", b[] = "second";
    struct iovec iov[2] = {{a, 5}, {b, 6}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    sendmsg(sv[0], &mh, MSG_EOR);
    char in[4];
    struct iovec riov = {in, sizeof in};
    struct msghdr rh = {.msg_iov = &riov, .msg_iovlen = 1};
    recvmsg(sv[1], &rh, 0);
    shutdown(sv[0], SHUT_RDWR);
    recvmsg(sv[1], &rh, MSG_DONTWAIT);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
