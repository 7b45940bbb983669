#include "common.h"

int main(void)
{
    int p[2]; pipe2(p, O_NONBLOCK); char b[4]; read(p[0], b, 4); close(p[0]); close(p[1]);
    return 0;
}
