/* bench sets: y */
#include "common.h"

int main(void)
{
    int p[2];
    pipe(p);
    write(p[1], "p", 1);
    int dn = open("/dev/null", O_RDONLY);
    struct pollfd fds[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {dn, POLLIN, 0}};
    poll(fds, 3, 0);
    struct pollfd none = {-1, POLLIN, 0};
    poll(&none, 1, 0);
    close(dn);
    close(p[0]);
    close(p[1]);
    return 0;
}
