#include "common.h"

int main(void)
{
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT|0600); struct sembuf op = {0, -1, IPC_NOWAIT}; semop(id, &op, 1); struct timespec ts = {0, 1000}; op.sem_flg = 0; semtimedop(id, &op, 1, &ts); semctl(id, 0, IPC_RMID);
    return 0;
}
