/* getdents64 of a directory of 40 files with a small buffer, rewind, a big buffer */
/* bench sets: s8 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    mkdir("d", 0755);
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "d/f%02d", i);
        close(open(name, O_CREAT | O_WRONLY, 0600));
    }
    int d = open("d", O_RDONLY | O_DIRECTORY);
    char buf[256];
    while (syscall(SYS_getdents64, d, buf, sizeof buf) > 0) {}
    lseek(d, 0, SEEK_SET);
    char big[8192];
    syscall(SYS_getdents64, d, big, sizeof big);
    syscall(SYS_getdents64, d, big, 8);
    syscall(SYS_getdents64, 0, big, sizeof big);
    close(d);
    return 0;
}
