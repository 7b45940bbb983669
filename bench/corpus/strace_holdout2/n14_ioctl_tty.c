/* ioctl on a pty, a pipe and /dev/null: TCGETS, TIOCGWINSZ/TIOCSWINSZ, TIOCGPTN, FIONREAD, ENOTTY */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
int main(void) {
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
    unsigned n; ioctl(m, TIOCGPTN, &n);
    int unlock = 0; ioctl(m, TIOCSPTLCK, &unlock);
    struct winsize ws = {24, 80, 0, 0};
    ioctl(m, TIOCSWINSZ, &ws);
    ioctl(m, TIOCGWINSZ, &ws);
    int p[2]; pipe(p);
    write(p[1], "abc", 3);
    int avail; ioctl(p[0], FIONREAD, &avail);
    int on = 1; ioctl(p[0], FIONBIO, &on);
    ioctl(p[0], FIOASYNC, &on);
    struct termios t;
    int z = open("/dev/null", O_RDWR);
    ioctl(z, TCGETS, &t);
    ioctl(z, TIOCGWINSZ, &ws);
    ioctl(p[0], TIOCGPGRP, &avail);
    ioctl(z, 0x1234abcd, 0);
    ioctl(z, _IOR('x', 3, int), &avail);
    close(m); close(z);
    return 0;
}
