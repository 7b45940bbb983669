#include "common.h"

int main(void)
{
    int p[2]; pipe(p); write(p[1], "x", 1); fd_set r, w; FD_ZERO(&r); FD_ZERO(&w); FD_SET(p[0], &r); FD_SET(p[1], &w); struct timeval tv = {1, 500}; select(p[1] + 1, &r, &w, NULL, &tv); FD_ZERO(&r); struct timeval z = {0, 0}; select(1, &r, NULL, NULL, &z); close(p[0]); close(p[1]);
    return 0;
}
