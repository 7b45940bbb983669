#include "common.h"

int main(void)
{
    int p[2]; pipe(p); write(p[1], "abc", 3); int n; ioctl(p[0], FIONREAD, &n); int on = 1; ioctl(p[0], FIONBIO, &on); ioctl(p[0], FIOCLEX); ioctl(p[0], FIONCLEX); struct winsize ws; ioctl(p[0], TIOCGWINSZ, &ws); close(p[0]); close(p[1]);
    return 0;
}
