/* bench sets: y */
#include "common.h"

int main(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    write(p[1], "e", 1);
    struct epoll_event out[2];
    epoll_wait(ep, out, 2, 0);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
    int efd = eventfd(0, 0);
    close(efd);
    close(ep);
    close(p[0]);
    close(p[1]);
    return 0;
}
