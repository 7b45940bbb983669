#include "common.h"

int main(void)
{
    signal(SIGALRM, on_signal); alarm(10); alarm(0);
    return 0;
}
