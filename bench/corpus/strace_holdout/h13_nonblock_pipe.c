#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
int main(void) {
    int p[2]; pipe(p);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    char b[4];
    if (read(p[0], b, sizeof b) != -1 || errno != EAGAIN) return 1;
    write(p[1], "ok", 2);
    struct pollfd pf = {p[0], POLLIN, 0};
    poll(&pf, 1, 1000);
    read(p[0], b, sizeof b);
    close(p[0]); close(p[1]);
    return 0;
}
