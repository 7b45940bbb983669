#include "common.h"

int main(void)
{
    int p[2]; pipe(p); fd_set w; FD_ZERO(&w); FD_SET(p[1], &w); struct timespec ts = {0, 1000}; pselect(p[1] + 1, NULL, &w, NULL, &ts, NULL); close(p[0]); close(p[1]);
    return 0;
}
