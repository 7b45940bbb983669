#include "common.h"

int main(void)
{
    int fd = open(".", O_TMPFILE|O_RDWR, 0600); close(fd); fd = open("sy", O_WRONLY|O_CREAT|O_SYNC|O_DSYNC|O_APPEND, 0644); close(fd); unlink("sy");
    return 0;
}
