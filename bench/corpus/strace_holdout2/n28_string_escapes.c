/* write()s of strings that exercise escaping and -s truncation */
/* bench sets: s8 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    int f = open("/dev/null", O_WRONLY);
    write(f, "exactly-thirty-two-characters-ab", 32);
    write(f, "thirty-three-characters-long-abcd", 33);
    write(f, "tab\there\nnewline\rcr\vvt\fff\aa\bb\033esc", 33);
    write(f, "quote\"back\\slash'single?question", 32);
    unsigned char hi[64];
    for (int i = 0; i < 64; i++) hi[i] = (unsigned char)(0xc0 + i);
    write(f, hi, sizeof hi);
    write(f, "nul\0inside\0\0end", 15);
    write(f, "\0001\0012", 5);
    char big[300]; memset(big, 'A', sizeof big);
    write(f, big, sizeof big);
    write(f, "", 0);
    write(f, "utf8: \xc3\xa9t\xc3\xa9 \xe2\x82\xac", 15);
    char path[300]; memset(path, 'p', sizeof path); path[299] = 0;
    open(path, O_RDONLY);
    close(f);
    return 0;
}
