#include "common.h"

int main(void)
{
    pthread_t t; pthread_create(&t, NULL, (void *(*)(void *))getpid, NULL); pthread_join(t, NULL);
    return 0;
}
