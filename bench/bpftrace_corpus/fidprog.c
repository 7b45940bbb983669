/* The deterministic workload of bench/bpftrace_fidelity.py's uprobe and syscall cases:
 * the same calls with the same arguments on every run. */
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) int fid_add(int a, int b) { return a + b; }
__attribute__((noinline)) long fid_fact(int n) { return n <= 1 ? 1 : n * fid_fact(n - 1); }
__attribute__((noinline)) void fid_greet(const char *who) { fprintf(stderr, "%s", who); }
__attribute__((noinline)) unsigned long fid_big(unsigned long x) { return x * 3; }
__attribute__((noinline)) int fid_neg(int x) { return -x; }

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    for (int i = 0; i < rounds; i++) {
        fid_add(i, i * 10);
        fid_fact(i + 1);
        fid_big((unsigned long)i << 33);
        fid_neg(i * 7);
        fid_greet(i % 2 ? "odd" : "even");
        (void)!write(-1, "xxxxxxxxxxxxxxxx", (size_t)(i * 100));
        getppid();
        struct timespec ts = {0, 1000000L * (i + 1)};
        nanosleep(&ts, NULL);
    }
    struct addrinfo *res = NULL;
    if (getaddrinfo("localhost", NULL, NULL, &res) == 0)
        freeaddrinfo(res);
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    kill(getpid(), 0);
    sync();
    return 0;
}
