/* select with read/write/except sets, timeout 0, big nfds, a bad fd (EBADF) */
#include <sys/select.h>
#include <unistd.h>
int main(void) {
    int p[2]; pipe(p);
    fd_set r, w, e;
    FD_ZERO(&r); FD_ZERO(&w); FD_ZERO(&e);
    FD_SET(p[0], &r); FD_SET(p[1], &w); FD_SET(p[0], &e); FD_SET(0, &r);
    struct timeval tv = {0, 0};
    select(p[1] + 1, &r, &w, &e, &tv);
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 0; tv.tv_usec = 20000;
    select(p[0] + 1, &r, NULL, NULL, &tv);
    FD_ZERO(&r); FD_SET(60, &r);
    tv.tv_usec = 1;
    select(61, &r, NULL, NULL, &tv);
    select(0, NULL, NULL, NULL, &tv);
    FD_ZERO(&w); FD_SET(p[1], &w); FD_SET(1, &w);
    select(1025, NULL, &w, NULL, NULL);
    return 0;
}
