#include "common.h"

static void *run(void *arg)
{
    char *argv[] = {"/bin/true", NULL};
    char *envp[] = {NULL};
    struct timespec t = {0, 200000000}; /* the leader is blocked in pthread_join by then */
    nanosleep(&t, NULL);
    execve(argv[0], argv, envp);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, run, NULL);
    pthread_join(t, NULL);
    return 1;
}
