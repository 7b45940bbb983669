#include "common.h"

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}; connect(s, (struct sockaddr *)&a, sizeof a); close(s); s = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un u = {.sun_family = AF_UNIX, .sun_path = "nope"}; connect(s, (struct sockaddr *)&u, sizeof u); close(s);
    return 0;
}
