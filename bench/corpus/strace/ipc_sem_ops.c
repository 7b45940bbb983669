#include "common.h"
#include <sys/ipc.h>
#include <sys/sem.h>

int main(void)
{
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    semctl(id, 0, SETVAL, 3);
    semctl(id, 0, GETVAL);
    semctl(id, 1, GETNCNT);
    semctl(id, 1, GETZCNT);
    struct sembuf ops[2] = {{0, -1, IPC_NOWAIT}, {1, 1, SEM_UNDO}};
    semop(id, ops, 2);
    struct sembuf wait0 = {1, 0, IPC_NOWAIT};
    semop(id, &wait0, 1);
    semctl(id, 0, IPC_RMID);
    return 0;
}
