#include "common.h"

int main(void)
{
    int p[2]; pipe(p); write(p[1], "ping", 4); char b[8]; read(p[0], b, 8); close(p[0]); close(p[1]); pipe2(p, O_CLOEXEC|O_NONBLOCK); read(p[0], b, 8); close(p[0]); close(p[1]);
    return 0;
}
