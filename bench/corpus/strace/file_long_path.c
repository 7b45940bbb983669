#include "common.h"

int main(void)
{
    char name[300]; memset(name, 'a', 299); name[299] = 0; open(name, O_RDONLY); char s[60]; memset(s, 'b', 59); s[59] = 0; int fd = creat("w", 0644); write(fd, s, 59); close(fd); unlink("w");
    return 0;
}
