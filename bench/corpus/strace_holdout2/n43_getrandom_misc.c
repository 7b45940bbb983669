/* getrandom flags, getcpu, getpid family, umask, uname and gettid */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
int main(void) {
    char b[16];
    getrandom(b, 0, GRND_NONBLOCK);
    getrandom(b, sizeof b, GRND_NONBLOCK | GRND_RANDOM);
    getrandom(b, sizeof b, GRND_INSECURE);
    getrandom(b, sizeof b, 0x40);
    unsigned cpu, node;
    syscall(SYS_getcpu, &cpu, &node, NULL);
    syscall(SYS_getcpu, NULL, NULL, NULL);
    umask(0);
    umask(07777);
    umask(022);
    syscall(SYS_umask, 0123);
    getuid(); geteuid(); getgid(); getegid();
    return 0;
}
