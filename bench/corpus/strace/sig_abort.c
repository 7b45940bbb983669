#include "common.h"

int main(void)
{
    abort();
    return 0;
}
