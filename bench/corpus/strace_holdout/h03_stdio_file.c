#include <stdio.h>
int main(void) {
    FILE *f = fopen("log.txt", "w");
    for (int i = 0; i < 3; i++) fprintf(f, "line %d\n", i);
    fflush(f);
    fclose(f);
    f = fopen("log.txt", "r");
    char line[64]; int n = 0;
    while (fgets(line, sizeof line, f)) n++;
    fclose(f);
    remove("log.txt");
    return n == 3 ? 0 : 1;
}
