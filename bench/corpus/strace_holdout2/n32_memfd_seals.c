/* memfd_create flags, seals, operations the seals refuse */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    int m = memfd_create("buffer:x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ftruncate(m, 4096);
    fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    fcntl(m, F_GET_SEALS);
    ftruncate(m, 100);
    ftruncate(m, 8192);
    pwrite(m, "ok", 2, 10);
    fcntl(m, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL);
    pwrite(m, "no", 2, 10);
    fcntl(m, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
    int n = memfd_create("noseal", 0);
    fcntl(n, F_GET_SEALS);
    fcntl(n, F_ADD_SEALS, F_SEAL_WRITE);
    memfd_create("bad", 0x100);
    memfd_create("huge", MFD_HUGETLB | (21 << 26));
    close(m); close(n);
    return 0;
}
