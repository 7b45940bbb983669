#include "common.h"

int main(void)
{
    struct sysinfo si; sysinfo(&si); struct utsname u; uname(&u); struct tms t; times(&t);
    return 0;
}
