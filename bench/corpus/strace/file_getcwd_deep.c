/* bench sets: s8 */
#include "common.h"
#include <sys/stat.h>

int main(void)
{
    const char *name = "a-directory-name-longer-than-thirty-two-characters";
    mkdir(name, 0755);
    chdir(name);
    mkdir(name, 0755);
    chdir(name);
    char buf[PATH_MAX];
    getcwd(buf, sizeof buf);
    getcwd(buf, 4);
    readlink("/proc/self/cwd", buf, sizeof buf);
    chdir("..");
    rmdir(name);
    chdir("..");
    rmdir(name);
    return 0;
}
