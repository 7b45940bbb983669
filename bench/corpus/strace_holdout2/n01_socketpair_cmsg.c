/* socketpair + sendmsg/recvmsg with SCM_RIGHTS and SCM_CREDENTIALS, MSG_CMSG_CLOEXEC */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    int fd = open("/dev/null", O_RDONLY);
    char data[] = "hello\0world";
    struct iovec iov[2] = {{data, 5}, {data + 6, 5}};
    union { char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr a; } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {0};
    mh.msg_iov = iov; mh.msg_iovlen = 2;
    mh.msg_control = u.buf; mh.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    c = CMSG_NXTHDR(&mh, c);
    struct ucred cr = {getpid(), 0, 0};
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof cr);
    memcpy(CMSG_DATA(c), &cr, sizeof cr);
    sendmsg(sv[0], &mh, MSG_DONTWAIT);
    char rb[32];
    struct iovec riov = {rb, sizeof rb};
    char rc[256];
    struct msghdr rh = {0};
    rh.msg_iov = &riov; rh.msg_iovlen = 1;
    rh.msg_control = rc; rh.msg_controllen = sizeof rc;
    recvmsg(sv[1], &rh, MSG_CMSG_CLOEXEC);
    /* a too-small control buffer: MSG_CTRUNC */
    sendmsg(sv[0], &mh, 0);
    rh.msg_controllen = CMSG_SPACE(sizeof(int)) - 4;
    rh.msg_control = rc;
    recvmsg(sv[1], &rh, 0);
    close(sv[0]); close(sv[1]);
    return 0;
}
