/* A known workload for the guest tier (built on the host: the guest has no compiler).
 *   tracee getpid N       N getpid(2) calls
 *   tracee write N        N write(2) calls of one byte to /dev/null
 *   tracee open PATH N    N openat(2) of PATH (each closed)
 * Exit status 0, or 2 on bad arguments / a failed call. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "getpid") == 0) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++) syscall(SYS_getpid);
        return 0;
    }
    if (strcmp(mode, "write") == 0) {
        int n = atoi(argv[2]);
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0) return 2;
        for (int i = 0; i < n; i++)
            if (write(fd, "x", 1) != 1) return 2;
        return 0;
    }
    if (strcmp(mode, "open") == 0 && argc == 4) {
        int n = atoi(argv[3]);
        for (int i = 0; i < n; i++) {
            int fd = openat(AT_FDCWD, argv[2], O_RDONLY);
            if (fd < 0) return 2;
            close(fd);
        }
        return 0;
    }
    return 2;
}
