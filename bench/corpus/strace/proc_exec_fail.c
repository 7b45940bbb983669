#include "common.h"

int main(void)
{
    char *argv[] = {"x", "y", NULL}; char *envp[] = {NULL}; execve("/nonexistent", argv, envp); execve("/etc/passwd", argv, envp);
    return 0;
}
