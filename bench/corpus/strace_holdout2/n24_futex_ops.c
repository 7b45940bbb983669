/* futex: WAKE, WAIT with a wrong value, WAIT timeout, WAIT_BITSET realtime, CMP_REQUEUE, WAKE_OP */
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static uint32_t w1 = 5, w2 = 0;
int main(void) {
    syscall(SYS_futex, &w1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    syscall(SYS_futex, &w1, FUTEX_WAIT, 4, NULL, NULL, 0);
    struct timespec ts = {0, 1000000};
    syscall(SYS_futex, &w1, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0);
    struct timespec abs = {1, 0};
    syscall(SYS_futex, &w1, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    syscall(SYS_futex, &w1, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, &w2, 5);
    syscall(SYS_futex, &w1, FUTEX_CMP_REQUEUE, 1, 2, &w2, 6);
    syscall(SYS_futex, &w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 0));
    syscall(SYS_futex, &w1, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0x3);
    syscall(SYS_futex, &w1, FUTEX_REQUEUE, 1, 0, &w2, 0);
    syscall(SYS_futex, &w1, 99, 1, NULL, NULL, 0);
    syscall(SYS_futex, NULL, FUTEX_WAIT, 0, NULL, NULL, 0);
    return 0;
}
