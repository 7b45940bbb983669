#include "common.h"

int main(void)
{
    write(1, "bye\n", 4); _exit(42);
    return 0;
}
