#include "common.h"

int main(void)
{
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600); void *a = shmat(id, NULL, SHM_RDONLY); shmdt(a); struct shmid_ds ds; shmctl(id, IPC_STAT, &ds); shmctl(id, IPC_RMID, NULL);
    return 0;
}
