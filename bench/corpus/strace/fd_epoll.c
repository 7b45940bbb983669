#include "common.h"

int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC); int p[2]; pipe(p); struct epoll_event ev = {.events = EPOLLIN|EPOLLET, .data.u64 = 7}; epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev); write(p[1], "x", 1); struct epoll_event out[4]; epoll_wait(ep, out, 4, 100); epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL); epoll_wait(ep, out, 4, 0); close(ep); close(p[0]); close(p[1]);
    return 0;
}
