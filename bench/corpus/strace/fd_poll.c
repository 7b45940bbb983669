#include "common.h"

int main(void)
{
    int p[2]; pipe(p); write(p[1], "x", 1); struct pollfd f[2] = {{p[0], POLLIN|POLLPRI, 0}, {p[1], POLLOUT, 0}}; poll(f, 2, 100); struct pollfd g = {p[0], POLLIN, 0}; char b; read(p[0], &b, 1); poll(&g, 1, 0); close(p[0]); close(p[1]);
    return 0;
}
