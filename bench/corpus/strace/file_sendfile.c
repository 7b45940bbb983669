#include "common.h"

int main(void)
{
    int in = open("si", O_RDWR|O_CREAT, 0644); write(in, "payload", 7); int out = open("so", O_WRONLY|O_CREAT, 0644); off_t off = 0; sendfile(out, in, &off, 7); loff_t a = 0, b = 0; copy_file_range(in, &a, out, &b, 3, 0); close(in); close(out); unlink("si"); unlink("so");
    return 0;
}
