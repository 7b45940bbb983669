#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int counter;
static void *work(void *arg) { pthread_mutex_lock(&m); counter++; pthread_mutex_unlock(&m); return arg; }
int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, work, NULL);
    pthread_join(t, NULL);
    return counter == 1 ? 0 : 1;
}
