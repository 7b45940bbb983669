#include <stdlib.h>
int main(void) { return system("exit 3") == 3 << 8 ? 0 : 1; }
