/* vfork + execve with an environment, a failing execve, wait4 */
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    char *argv[] = {"/bin/true", "first arg", "--flag=\"quoted\"", NULL};
    char *envp[] = {"FOO=bar", "EMPTY=", "TAB=a\tb", NULL};
    execve("/nonexistent/prog", argv, envp);
    pid_t p = vfork();
    if (p == 0) {
        execve("/bin/true", argv, envp);
        _exit(127);
    }
    int st;
    wait4(p, &st, 0, NULL);
    return WEXITSTATUS(st);
}
