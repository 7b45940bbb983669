/* writev/readv with empty and binary iovecs, preadv2/pwritev2 flags, process_vm_readv */
/* bench sets: s8 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    int f = open("data", O_CREAT | O_RDWR | O_TRUNC, 0600);
    char bin[] = {0, 1, 2, 3, 127, (char)128, (char)255, '\\', '"', '\n'};
    struct iovec w[5] = {{"head", 4}, {"", 0}, {bin, sizeof bin}, {"0123456789abcdefghijklmnopqrstuvwxyz-long", 41}, {"\t", 1}};
    writev(f, w, 5);
    lseek(f, 0, SEEK_SET);
    char a[3], b[100];
    struct iovec r[2] = {{a, sizeof a}, {b, sizeof b}};
    readv(f, r, 2);
    preadv2(f, r, 2, 4, RWF_HIPRI);
    preadv2(f, r, 1, -1, RWF_NOWAIT);
    pwritev2(f, w, 1, 0, RWF_DSYNC | RWF_APPEND);
    pwritev2(f, w, 1, 0, 0x100);
    readv(f, r, 0);
    writev(f, NULL, 2);
    char local[16];
    struct iovec lv = {local, sizeof local}, rv = {bin, sizeof bin};
    process_vm_readv(getpid(), &lv, 1, &rv, 1, 0);
    close(f);
    return 0;
}
