/* eventfd2 with EFD_SEMAPHORE|EFD_NONBLOCK: writes, reads, EAGAIN, bad write size */
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
int main(void) {
    int e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t v;
    read(e, &v, sizeof v);
    v = 2; write(e, &v, sizeof v);
    for (int i = 0; i < 5; i++) read(e, &v, sizeof v);
    write(e, &v, 4);
    v = 0xffffffffffffffffULL; write(e, &v, sizeof v);
    close(e);
    eventfd(0, 0x1234);
    return 0;
}
