/* pipe2 flags (O_DIRECT packet mode, O_NONBLOCK), big writes, partial reads, tee/splice errors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    int p[2], q[2];
    pipe2(p, O_DIRECT | O_CLOEXEC);
    write(p[1], "packet-one", 10);
    write(p[1], "two", 3);
    char b[4];
    read(p[0], b, sizeof b);
    read(p[0], b, sizeof b);
    pipe2(q, O_NONBLOCK);
    char big[70000]; memset(big, 'x', sizeof big);
    write(q[1], big, sizeof big);
    write(q[1], big, 10);
    tee(q[0], p[1], 100, SPLICE_F_NONBLOCK);
    splice(q[0], NULL, p[1], NULL, 3, SPLICE_F_MOVE | SPLICE_F_MORE);
    off_t off = 5;
    splice(q[0], &off, p[1], NULL, 3, 0);
    pipe2(q, 0x1);
    return 0;
}
