#include "common.h"

int main(void)
{
    int s = socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, 0); close(s); socket(AF_PACKET + 200, SOCK_STREAM, 0);
    return 0;
}
