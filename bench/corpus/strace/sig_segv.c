#include "common.h"

int main(void)
{
    volatile int *z = NULL; *z = 1;
    return 0;
}
