/* The workload of bench/bpftrace_cases.py's second holdout: deterministic calls with
 * strings, buffers, nested calls and a few syscalls, the same on every run. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct hold_pair {
    int a;
    long b;
};

__attribute__((noinline)) int hold_name(const char *name, int len)
{
    __asm__ volatile("" ::: "memory");
    return (int)strlen(name) + len;
}
__attribute__((noinline)) const char *hold_label(int i) { return i % 3 ? "tick" : "tock"; }
__attribute__((noinline)) long hold_pair_sum(struct hold_pair *p) { return p->a + p->b; }
__attribute__((noinline)) int hold_leaf(int x) { return x * 2 + 1; }
__attribute__((noinline)) int hold_mid(int x) { return hold_leaf(x) + 1; }
__attribute__((noinline)) int hold_top(int x) { return hold_mid(x) + 1; }
__attribute__((noinline)) unsigned char hold_byte(unsigned char c) { return (unsigned char)(c ^ 0x5a); }

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    static const char *names[] = {"alpha", "beta", "gamma", "delta-epsilon-zeta"};
    char buf[64];
    for (int i = 0; i < rounds; i++) {
        hold_name(names[i % 4], i);
        hold_label(i);
        struct hold_pair p = {i, 1000L * i - 1};
        hold_pair_sum(&p);
        hold_top(i);
        hold_byte((unsigned char)(i * 37));
        int fd = open("/dev/zero", O_RDONLY);
        if (fd >= 0) {
            (void)!read(fd, buf, (size_t)(8 << i % 4));
            close(fd);
        }
        int nul = open("/dev/null", O_WRONLY | O_APPEND);
        if (nul >= 0) {
            (void)!write(nul, names[i % 4], strlen(names[i % 4]));
            close(nul);
        }
        (void)!access("/nonexistent/holdprog", F_OK);
        struct timespec ts = {0, 500000L * (i + 1)};
        nanosleep(&ts, NULL);
    }
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    return 0;
}
