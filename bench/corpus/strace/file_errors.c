#include "common.h"

int main(void)
{
    open("/nonexistent/x", O_RDONLY); mkdir("/proc/x", 0755); unlink("."); rmdir("/"); chdir("nope"); char b[4]; read(-1, b, 4);
    return 0;
}
