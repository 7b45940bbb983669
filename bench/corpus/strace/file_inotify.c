#include "common.h"

int main(void)
{
    int fd = inotify_init1(IN_NONBLOCK|IN_CLOEXEC); int w = inotify_add_watch(fd, ".", IN_CREATE|IN_DELETE|IN_MODIFY); inotify_rm_watch(fd, w); close(fd);
    return 0;
}
