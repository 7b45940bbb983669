/* recv flags: MSG_PEEK, MSG_TRUNC on datagrams, MSG_WAITALL, recvmsg msg_flags, MSG_ERRQUEUE */
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    int sv[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "a longer datagram", 17, MSG_EOR);
    char b[8];
    recv(sv[1], b, sizeof b, MSG_PEEK);
    recv(sv[1], b, 4, MSG_PEEK | MSG_TRUNC);
    struct iovec iov = {b, sizeof b};
    struct msghdr mh; memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    recvmsg(sv[1], &mh, 0);
    recv(sv[1], b, sizeof b, MSG_DONTWAIT);
    recv(sv[1], b, sizeof b, MSG_ERRQUEUE);
    int st[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, st);
    send(st[0], "12345678", 8, MSG_MORE);
    recv(st[1], b, sizeof b, MSG_WAITALL);
    sendto(st[0], "z", 1, MSG_OOB, NULL, 0);
    recv(st[1], b, sizeof b, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    close(sv[0]); close(sv[1]); close(st[0]); close(st[1]);
    return 0;
}
