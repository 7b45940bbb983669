/* prctl options with their own arguments and results */
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
int main(void) {
    prctl(PR_SET_DUMPABLE, 0);
    prctl(PR_GET_DUMPABLE);
    prctl(PR_SET_DUMPABLE, 1);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int sig; prctl(PR_GET_PDEATHSIG, &sig);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int sub; prctl(PR_GET_CHILD_SUBREAPER, &sub);
    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 50000);
    prctl(PR_GET_TIMERSLACK);
    prctl(PR_GET_SECUREBITS);
    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN);
    prctl(PR_CAPBSET_READ, 200);
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    prctl(PR_GET_KEEPCAPS);
    prctl(PR_SET_KEEPCAPS, 1);
    prctl(PR_GET_TIMING);
    prctl(PR_SET_NAME, "a-very-long-thread-name-xyz");
    char name[16]; prctl(PR_GET_NAME, name);
    prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0);
    prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0);
    prctl(9999, 1, 2, 3, 4);
    return 0;
}
