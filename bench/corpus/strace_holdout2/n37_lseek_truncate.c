/* lseek whence values (SEEK_DATA/SEEK_HOLE), truncate/ftruncate, sparse files, errors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    int f = open("sparse", O_CREAT | O_RDWR | O_TRUNC, 0644);
    pwrite(f, "data", 4, 1 << 20);
    lseek(f, 0, SEEK_DATA);
    lseek(f, 0, SEEK_HOLE);
    lseek(f, -4, SEEK_END);
    lseek(f, 100, SEEK_CUR);
    lseek(f, -1000, SEEK_CUR);
    lseek(f, 0, 7);
    lseek(f, (2 << 20), SEEK_DATA);
    ftruncate(f, 10);
    ftruncate(f, -1);
    truncate("sparse", 1LL << 33);
    truncate("missing", 0);
    close(f);
    return 0;
}
