/* getrlimit/setrlimit/prlimit64 on several resources, RLIM_INFINITY, errors */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct rlimit r;
    int res[] = {RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_NOFILE,
                 RLIMIT_AS, RLIMIT_NPROC, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_RTTIME};
    for (unsigned i = 0; i < sizeof res / sizeof *res; i++) getrlimit(res[i], &r);
    r.rlim_cur = 1024 * 1024; r.rlim_max = RLIM_INFINITY;
    setrlimit(RLIMIT_CORE, &r);
    struct rlimit nr = {256, 4096}, old;
    prlimit(0, RLIMIT_NOFILE, &nr, &old);
    prlimit(getpid(), RLIMIT_NOFILE, NULL, &old);
    r.rlim_cur = 10; r.rlim_max = 5;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(99, &r);
    syscall(SYS_getrlimit, RLIMIT_STACK, &r);
    syscall(SYS_setrlimit, RLIMIT_CPU, &r);
    getrusage(RUSAGE_THREAD, (struct rusage *)0);
    return 0;
}
