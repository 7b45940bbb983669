#include "common.h"

int main(void)
{
    int fd = creat("bin", 0644); unsigned char d[20]; for (int i = 0; i < 20; i++) d[i] = i * 13; write(fd, d, 20); write(fd, "tab\there\r\n\\\"", 12); close(fd); unlink("bin");
    return 0;
}
