#include "common.h"

int main(void)
{
    int p[2]; pipe(p); char big[200]; memset(big, 'z', sizeof big); write(p[1], big, sizeof big); read(p[0], big, sizeof big); fcntl(p[0], F_SETPIPE_SZ, 8192); fcntl(p[0], F_GETPIPE_SZ); close(p[0]); close(p[1]);
    return 0;
}
