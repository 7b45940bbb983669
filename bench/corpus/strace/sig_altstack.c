#include "common.h"

int main(void)
{
    stack_t s = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0}, o; sigaltstack(&s, &o); sigaltstack(NULL, &o); s.ss_flags = SS_DISABLE; sigaltstack(&s, NULL);
    return 0;
}
