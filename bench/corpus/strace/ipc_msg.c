#include "common.h"

int main(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT|0600); struct { long t; char x[8]; } m = {1, "msg"}; msgsnd(id, &m, 4, 0); msgrcv(id, &m, 8, 0, IPC_NOWAIT); msgrcv(id, &m, 8, 0, IPC_NOWAIT); msgctl(id, IPC_RMID, NULL);
    return 0;
}
