#include "common.h"

int main(void)
{
    struct statfs s; statfs(".", &s); int fd = open(".", O_RDONLY); fstatfs(fd, &s); close(fd); statfs("nope", &s);
    return 0;
}
