#include "common.h"

int main(void)
{
    prctl(PR_SET_NAME, "corpus"); char n[16]; prctl(PR_GET_NAME, n); prctl(PR_SET_PDEATHSIG, SIGTERM); prctl(PR_GET_DUMPABLE); prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); int s; prctl(PR_GET_PDEATHSIG, &s);
    return 0;
}
