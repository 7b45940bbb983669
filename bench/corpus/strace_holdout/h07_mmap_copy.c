#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    int in = open("/etc/hostname", O_RDONLY);
    struct stat st; fstat(in, &st);
    void *src = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, in, 0);
    int out = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(out, st.st_size);
    void *dst = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, out, 0);
    memcpy(dst, src, st.st_size);
    msync(dst, st.st_size, MS_SYNC);
    munmap(dst, st.st_size); munmap(src, st.st_size);
    close(out); close(in); unlink("copy");
    return 0;
}
