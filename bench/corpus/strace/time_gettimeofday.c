#include "common.h"

int main(void)
{
    struct timeval tv; syscall(SYS_gettimeofday, &tv, NULL); syscall(SYS_time, NULL);
    return 0;
}
