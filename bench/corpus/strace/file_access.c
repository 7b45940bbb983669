#include "common.h"

int main(void)
{
    access(".", R_OK|W_OK); access("nope", F_OK); faccessat(AT_FDCWD, ".", X_OK, 0); syscall(SYS_faccessat2, AT_FDCWD, ".", R_OK, AT_EACCESS);
    return 0;
}
