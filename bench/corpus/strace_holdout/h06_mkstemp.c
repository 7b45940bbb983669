#include <stdlib.h>
#include <unistd.h>
#include <string.h>
int main(void) {
    char name[] = "tmpXXXXXX";
    int fd = mkstemp(name);
    write(fd, "scratch", 7);
    lseek(fd, 0, SEEK_SET);
    char b[8] = {0}; read(fd, b, 7);
    close(fd);
    unlink(name);
    return strcmp(b, "scratch") != 0;
}
