#include "common.h"

int main(void)
{
    int fd = creat("k", 0644); flock(fd, LOCK_EX); flock(fd, LOCK_UN); flock(fd, LOCK_SH|LOCK_NB); close(fd); unlink("k");
    return 0;
}
