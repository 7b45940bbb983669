#include "common.h"

int main(void)
{
    getpriority(PRIO_PROCESS, 0); setpriority(PRIO_PROCESS, 0, 5); getpriority(PRIO_PGRP, 0); setpriority(PRIO_USER, 0, 0);
    return 0;
}
