#include "common.h"

int main(void)
{
    void *b = sbrk(0); brk((char *)b + 65536); brk(b);
    return 0;
}
