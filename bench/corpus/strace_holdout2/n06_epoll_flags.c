/* epoll: EPOLLET|EPOLLONESHOT|EPOLLRDHUP, MOD, DEL, several ready events, epoll_pwait mask */
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>
int main(void) {
    int p[2], q[2];
    pipe(p); pipe(q);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = p[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    ev.events = EPOLLOUT | EPOLLONESHOT; ev.data.u64 = 0x1122334455667788ULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &ev);
    epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &ev);
    write(p[1], "a", 1);
    struct epoll_event out[4];
    epoll_wait(ep, out, 4, 0);
    ev.events = EPOLLIN | EPOLLPRI | EPOLLERR | EPOLLHUP; ev.data.fd = p[0];
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    close(p[1]);
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGTERM);
    epoll_pwait(ep, out, 4, 10, &m);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
    epoll_ctl(ep, 7, 0, &ev);
    epoll_wait(ep, out, 0, 0);
    close(ep); close(p[0]); close(q[0]); close(q[1]);
    return 0;
}
