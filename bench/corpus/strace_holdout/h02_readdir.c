#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    mkdir("d", 0755);
    close(open("d/a", O_CREAT | O_WRONLY, 0644));
    close(open("d/b", O_CREAT | O_WRONLY, 0644));
    DIR *dir = opendir("d");
    struct dirent *e; int n = 0;
    while ((e = readdir(dir)) != NULL) n++;
    closedir(dir);
    unlink("d/a"); unlink("d/b"); rmdir("d");
    printf("%d\n", n);
    return 0;
}
