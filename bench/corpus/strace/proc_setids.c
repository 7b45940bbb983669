#include "common.h"

int main(void)
{
    setuid(0); setgid(0); setreuid(-1, -1); setregid(-1, 0); setresuid(-1, -1, -1); setresgid(0, -1, -1); setfsuid(-1); setfsgid(-1);
    return 0;
}
