#include "common.h"
#include <sys/ipc.h>
#include <sys/msg.h>

int main(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct { long mtype; char mtext[16]; } m = {2, "second"};
    msgsnd(id, &m, 6, IPC_NOWAIT);
    msgrcv(id, &m, sizeof m.mtext, 1, IPC_NOWAIT);
    msgrcv(id, &m, sizeof m.mtext, 0, IPC_NOWAIT | MSG_NOERROR);
    msgrcv(id, &m, sizeof m.mtext, 0, IPC_NOWAIT);
    msgsnd(-1, &m, 6, 0);
    msgctl(id, IPC_RMID, NULL);
    return 0;
}
