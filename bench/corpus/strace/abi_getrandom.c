#include "common.h"

int main(void)
{
    char b[4]; getrandom(b, 0, GRND_NONBLOCK); getrandom(NULL, 0, 0);
    return 0;
}
