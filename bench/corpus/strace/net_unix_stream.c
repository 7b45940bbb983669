#include "common.h"

int main(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un a = {.sun_family = AF_UNIX}; strcpy(a.sun_path, "sock"); bind(s, (struct sockaddr *)&a, sizeof a); listen(s, 5); int c = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK, 0); connect(c, (struct sockaddr *)&a, sizeof a); int d = accept4(s, NULL, NULL, SOCK_CLOEXEC); write(c, "x", 1); char b; read(d, &b, 1); close(d); close(c); close(s); unlink("sock");
    return 0;
}
