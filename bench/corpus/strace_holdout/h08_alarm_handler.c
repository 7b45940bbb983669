#include <signal.h>
#include <unistd.h>
static volatile sig_atomic_t fired;
static void on_alarm(int s) { fired = s; }
int main(void) {
    signal(SIGALRM, on_alarm);
    alarm(1);
    pause();
    return fired == SIGALRM ? 0 : 1;
}
