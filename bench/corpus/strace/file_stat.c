#include "common.h"

int main(void)
{
    int fd = creat("s", 0640); write(fd, "abc", 3); close(fd); struct stat st; stat("s", &st); lstat("s", &st); stat("nope", &st); unlink("s");
    return 0;
}
