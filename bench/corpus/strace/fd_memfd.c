#include "common.h"

int main(void)
{
    int fd = memfd_create("buf", MFD_CLOEXEC|MFD_ALLOW_SEALING); ftruncate(fd, 4096); fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK|F_SEAL_GROW); fcntl(fd, F_GET_SEALS); close(fd);
    return 0;
}
