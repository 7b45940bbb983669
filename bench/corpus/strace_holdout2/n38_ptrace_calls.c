/* ptrace calls a traced program makes: TRACEME while traced, PEEK on missing pids */
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    long w;
    syscall(SYS_ptrace, PTRACE_PEEKDATA, 999999, 0x1000, &w);
    ptrace(PTRACE_ATTACH, 999999, 0, 0);
    ptrace(PTRACE_CONT, 999999, 0, 5);
    ptrace(PTRACE_SEIZE, 999999, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_GETREGS, 999999, 0, 0);
    ptrace(12345, 999999, 0, 0);
    return 0;
}
