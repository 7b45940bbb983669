/* POSIX message queues: open flags and attributes, getsetattr, notify, unlink, errors */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <string.h>
#include <time.h>
int main(void) {
    struct mq_attr at = {0, 4, 64, 0};
    mqd_t q = mq_open("/tracerd-n45", O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600, &at);
    mq_open("/tracerd-n45", O_CREAT | O_EXCL | O_RDWR, 0600, &at);
    struct mq_attr na = {0}, old;
    mq_getattr(q, &old);
    mq_setattr(q, &na, &old);
    struct sigevent sev; memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL; sev.sigev_signo = SIGUSR1;
    mq_notify(q, &sev);
    mq_notify(q, NULL);
    mq_send(q, "hello", 5, 3);
    char b[64]; unsigned prio;
    mq_receive(q, b, sizeof b, &prio);
    struct timespec ts = {0, 0};
    mq_timedreceive(q, b, sizeof b, &prio, &ts);
    mq_receive(q, b, 2, &prio);
    mq_close(q);
    mq_unlink("/tracerd-n45");
    mq_unlink("/tracerd-n45");
    return 0;
}
