#include "common.h"

int main(void)
{
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT|0600); struct sembuf op = {0, 1, SEM_UNDO}; semop(id, &op, 1); semctl(id, 0, GETVAL); semctl(id, 0, IPC_RMID);
    return 0;
}
