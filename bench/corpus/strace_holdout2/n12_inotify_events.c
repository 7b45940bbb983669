/* inotify: init1 flags, add_watch masks, events read back, rm_watch errors */
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    mkdir("d", 0755);
    int w = inotify_add_watch(in, "d", IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ONLYDIR);
    inotify_add_watch(in, "d", IN_ALL_EVENTS | IN_MASK_ADD);
    inotify_add_watch(in, "missing", IN_ACCESS);
    int f = open("d/file", O_CREAT | O_WRONLY, 0600);
    write(f, "z", 1);
    close(f);
    char buf[512];
    read(in, buf, sizeof buf);
    read(in, buf, sizeof buf);
    inotify_rm_watch(in, w);
    inotify_rm_watch(in, 999);
    unlink("d/file"); rmdir("d");
    close(in);
    return 0;
}
