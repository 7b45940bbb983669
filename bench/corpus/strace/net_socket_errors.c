#include "common.h"

int main(void)
{
    socket(AF_INET, SOCK_STREAM, 99); char b[4]; recv(0, b, 4, 0); shutdown(1, SHUT_RD); send(-1, "x", 1, MSG_OOB);
    return 0;
}
