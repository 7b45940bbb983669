/* The workload of bench/tracecmd_fidelity.py --holdout: readahead, file locks and leases,
 * O_DIRECT through iomap, faults/madvise/munmap, a closed UDP port (icmp) over v4 and v6
 * (fib, fib6), a child in a fresh cgroup, oom_score_adj, misc syscalls, and a uprobe
 * target with arrays, nested strings and 16-bit fields. argv: rounds file cgroup-dir */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sched.h>
struct rec { unsigned char bytes[8]; const char *name; short neg; unsigned short u; };
__attribute__((noinline)) long probed2(struct rec *r, const char *tag, unsigned short h) {
    __asm__ volatile("" ::: "memory");
    return r->neg + h + (long)strlen(tag);
}
static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd >= 0) { if (write(fd, text, strlen(text)) < 0) {} close(fd); }
}
int main(int argc, char **argv) {
    int rounds = atoi(argv[1]);
    const char *file = argv[2], *cg = argv[3];
    char pidtext[32];
    static char big[1 << 20];
    memset(big, 'y', sizeof big);
    int w = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (w < 0 || write(w, big, sizeof big) < 0) return 1;
    fsync(w); close(w);
    for (int r = 0; r < rounds; r++) {
        struct rec rc = {{1, 2, 3, (unsigned char)r}, r % 2 ? "odd-name" : "even", (short)(-r), (unsigned short)(60000 + r)};
        probed2(&rc, "tag", (unsigned short)(r * 1000));
        /* readahead, filelock, leases */
        int fd = open(file, O_RDONLY);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        while (read(fd, big, 65536) > 0) {}
        flock(fd, LOCK_SH); flock(fd, LOCK_UN);
        fcntl(fd, F_SETLEASE, F_RDLCK); fcntl(fd, F_SETLEASE, F_UNLCK);
        close(fd);
        fd = open(file, O_RDWR);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
        fcntl(fd, F_SETLK, &fl); fl.l_type = F_UNLCK; fcntl(fd, F_SETLK, &fl);
        close(fd);
        /* O_DIRECT (iomap) */
        void *al; if (posix_memalign(&al, 4096, 8192)) return 1;
        memset(al, 'd', 8192);
        fd = open(file, O_WRONLY | O_DIRECT);
        if (fd >= 0) { if (pwrite(fd, al, 8192, 0) < 0) {} close(fd); }
        free(al);
        /* memory: faults, mprotect, madvise, munmap (tlb) */
        size_t len = 4 << 20;
        char *m = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            madvise(m, len, MADV_HUGEPAGE);
            for (size_t i = 0; i < len; i += 4096) m[i] = (char)i;
            mprotect(m, 4096, PROT_READ);
            madvise(m, len, MADV_DONTNEED);
            munmap(m, len);
        }
        /* network: a closed UDP port (icmp), v4 and v6 route lookups (fib, fib6) */
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(u, (void *)&d, sizeof d) == 0) { if (send(u, "x", 1, 0) < 0) {} usleep(1000); if (send(u, "y", 1, 0) < 0) {} }
        close(u);
        int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
        struct sockaddr_in6 d6 = {.sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        if (u6 >= 0) { if (sendto(u6, "z", 1, 0, (void *)&d6, sizeof d6) < 0) {} close(u6); }
        /* cgroup: a child joins a fresh cgroup and exits; the cgroup is removed */
        if (mkdir(cg, 0755) == 0) {
            pid_t c = fork();
            if (c == 0) {
                snprintf(pidtext, sizeof pidtext, "%d", getpid());
                char procs[512]; snprintf(procs, sizeof procs, "%s/cgroup.procs", cg);
                put(procs, pidtext);
                _exit(0);
            }
            waitpid(c, 0, 0);
            for (int t = 0; t < 200 && rmdir(cg) != 0 && errno == EBUSY; t++) usleep(1000);
        }
        /* misc syscalls */
        put("/proc/self/oom_score_adj", r % 2 ? "1" : "0");
        char rnd[16]; if (getrandom(rnd, sizeof rnd, 0) < 0) {}
        struct utsname un; uname(&un);
        access("/nonexistent/tcfid", F_OK);
        struct stat st; stat(file, &st);
        sched_yield();
        char link[64]; if (readlink("/proc/self/exe", link, sizeof link) < 0) {}
        usleep(20000);
    }
    unlink(file);
    return 0;
}
