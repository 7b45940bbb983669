#include "common.h"

int main(void)
{
    close(creat("xa", 0644)); setxattr("xa", "user.k", "v", 1, XATTR_CREATE); char b[16]; getxattr("xa", "user.k", b, sizeof b); listxattr("xa", b, sizeof b); removexattr("xa", "user.k"); unlink("xa");
    return 0;
}
