/* poll: POLLOUT ready, POLLHUP, POLLNVAL on a closed fd, negative fd ignored, timeout */
#define _GNU_SOURCE
#include <poll.h>
#include <unistd.h>
int main(void) {
    int p[2]; pipe(p);
    struct pollfd f[4] = {{p[0], POLLIN | POLLPRI, 0}, {p[1], POLLOUT | POLLWRNORM, 0},
                          {77, POLLIN, 0}, {-1, POLLIN, 0}};
    poll(f, 4, 100);
    close(p[1]);
    struct pollfd g[2] = {{p[0], POLLIN | POLLRDHUP, 0}, {0, 0, 0}};
    poll(g, 2, -1);
    close(p[0]);
    pipe(p);
    struct pollfd h = {p[0], POLLIN, 0};
    poll(&h, 1, 5);
    poll(NULL, 0, 1);
    return 0;
}
