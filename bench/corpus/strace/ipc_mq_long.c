/* bench sets: s8 */
#include "common.h"

int main(void)
{
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 128};
    mqd_t q = mq_open("/tracerd-bench-long", O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    const char msg[] = "a message longer than eight bytes and than thirty-two bytes too";
    mq_send(q, msg, sizeof msg - 1, 3);
    mq_send(q, "tiny", 4, 1);
    char buf[128];
    unsigned prio;
    mq_receive(q, buf, sizeof buf, &prio);
    mq_receive(q, buf, sizeof buf, &prio);
    mq_close(q);
    mq_unlink("/tracerd-bench-long");
    return 0;
}
