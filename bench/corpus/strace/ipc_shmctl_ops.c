/* bench sets: s8 */
#include "common.h"
#include <sys/ipc.h>
#include <sys/shm.h>

int main(void)
{
    int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0640);
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    ds.shm_perm.mode = 0600;
    shmctl(id, IPC_SET, &ds);
    struct shminfo info;
    shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    struct shm_info sinfo;
    shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo);
    shmctl(id, SHM_LOCK, NULL);
    shmctl(id, SHM_UNLOCK, NULL);
    shmctl(id, IPC_STAT, NULL);
    shmctl(-1, IPC_STAT, &ds);
    shmctl(id, IPC_RMID, NULL);
    return 0;
}
