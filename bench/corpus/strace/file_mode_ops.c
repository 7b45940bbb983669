#include "common.h"

int main(void)
{
    umask(0); mkdir("m1", 01777); mkdir("m2", 0); chmod("m2", 02755); rmdir("m1"); rmdir("m2"); umask(022);
    return 0;
}
