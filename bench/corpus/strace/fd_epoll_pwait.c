#include "common.h"

int main(void)
{
    int ep = epoll_create(1); int p[2]; pipe(p); struct epoll_event ev = {.events = EPOLLOUT, .data.fd = p[1]}; epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev); ev.events = EPOLLOUT|EPOLLONESHOT; epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev); struct epoll_event out[2]; sigset_t m; sigemptyset(&m); epoll_pwait(ep, out, 2, 10, &m); close(ep); close(p[0]); close(p[1]);
    return 0;
}
