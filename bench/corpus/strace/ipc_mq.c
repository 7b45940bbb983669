#include "common.h"

int main(void)
{
    struct mq_attr at = {.mq_maxmsg = 4, .mq_msgsize = 16}; mqd_t q = mq_open("/corpus-mq", O_RDWR|O_CREAT|O_EXCL, 0600, &at); mq_send(q, "hello", 5, 1); char b[16]; unsigned pr; mq_receive(q, b, 16, &pr); mq_close(q); mq_unlink("/corpus-mq");
    return 0;
}
