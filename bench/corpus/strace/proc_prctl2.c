#include "common.h"

int main(void)
{
    prctl(PR_SET_DUMPABLE, 0); prctl(PR_SET_TIMERSLACK, 50000); prctl(PR_GET_TIMERSLACK); prctl(PR_SET_CHILD_SUBREAPER, 1); prctl(PR_CAPBSET_READ, 0); prctl(9999, 1, 2, 3, 4);
    return 0;
}
