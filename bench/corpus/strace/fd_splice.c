#include "common.h"

int main(void)
{
    int p[2], q[2]; pipe(p); pipe(q); write(p[1], "hello", 5); splice(p[0], NULL, q[1], NULL, 5, SPLICE_F_MOVE|SPLICE_F_NONBLOCK); write(p[1], "again", 5); tee(p[0], q[1], 5, 0); char b[16]; struct iovec v = {b, 5}; vmsplice(q[1], &v, 1, 0); close(p[0]); close(p[1]); close(q[0]); close(q[1]);
    return 0;
}
