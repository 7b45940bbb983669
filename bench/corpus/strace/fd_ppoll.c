#include "common.h"

int main(void)
{
    int p[2]; pipe(p); write(p[1], "x", 1); struct pollfd f = {p[0], POLLIN, 0}; struct timespec ts = {1, 0}; sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR2); ppoll(&f, 1, &ts, &m); ppoll(&f, 1, NULL, NULL); close(p[0]); close(p[1]);
    return 0;
}
