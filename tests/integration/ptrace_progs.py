"""Test programs (C sources, built with gcc per test) and strace output parsing for the
ptrace live tests."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

THREADS_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
static void *worker(void *arg) {
    char path[64];
    snprintf(path, sizeof path, "/nonexistent/thread-%ld", (long)arg);
    open(path, O_RDONLY);
    getppid();
    int fd = open("/etc/hostname", O_RDONLY);
    close(fd);
    return NULL;
}
int main(void) {
    pthread_t t[3];
    /* one thread at a time: fd numbers and futex calls stay deterministic */
    for (long i = 0; i < 3; i++) {
        pthread_create(&t[i], NULL, worker, (void *)i);
        pthread_join(t[i], NULL);
    }
    printf("done\n");
    return 0;
}
"""

FORK_C = r"""
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void on_usr1(int sig) { (void)sig; }
int main(void) {
    signal(SIGUSR1, on_usr1);
    pid_t child = fork();
    if (child == 0) {
        int fd = open("/etc/hostname", O_RDONLY);
        close(fd);
        open("/nonexistent/child", O_RDONLY);
        kill(getpid(), SIGUSR1);
        _exit(3);
    }
    int status;
    waitpid(child, &status, 0);
    pid_t second = vfork();
    if (second == 0) { execl("/bin/true", "true", NULL); _exit(127); }
    waitpid(second, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}
"""

LOOP_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
__attribute__((noinline)) long target(long a, long b, long c, long d, long e, long f) {
    return a + b + c + d + e + f;
}
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 5;
    long sum = 0;
    for (long i = 0; i < n; i++) {
        sum += target(i, 2, 3, 4, 5, 6);
        int fd = open("/etc/hostname", O_RDONLY);
        close(fd);
        usleep(argc > 2 ? atol(argv[2]) : 0);
    }
    printf("sum %ld\n", sum);
    return 0;
}
"""

GETPPID_C = r"""
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    for (long i = 0; i < 10; i++) syscall(SYS_getpid);
    return 0;
}
"""


def build(tmp: Path, name: str, source: str) -> str:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / name
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(out), str(src)], check=True)
    return str(out)


_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^([a-z_0-9]+)\(")
_RESUMED = re.compile(r"^<\.\.\. ([a-z_0-9]+) resumed>")
_RET = re.compile(r"\)\s+= (.*)$")
PID_RETURNS = frozenset(
    {"clone", "clone3", "fork", "vfork", "wait4", "waitid", "gettid", "getpid", "getppid",
     "set_tid_address"}
)  # fmt: skip
ADDR_RETURNS = frozenset({"mmap", "brk", "mremap", "shmat"})

Call = tuple[str, str | None, object]


@contextlib.contextmanager
def loop_process(prog: str, rounds: int) -> Iterator[subprocess.Popen[str]]:
    """LOOP_C's program (built as `prog`) opening /etc/hostname every 20 ms `rounds` times;
    killed if still running at the end."""
    proc = subprocess.Popen([prog, str(rounds), "20000"], stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def normalise(name: str, ret: int | None, errno: str | None) -> Call:
    if errno is not None:
        return (name, errno, -1)
    if ret is None:
        return (name, None, "?")
    if name in PID_RETURNS:
        return (name, None, "PID")
    if name in ADDR_RETURNS:
        return (name, None, "ADDR")
    return (name, None, ret)


def _parse_ret(text: str) -> tuple[int | None, str | None]:
    text = text.strip()
    if text.startswith("?"):
        parts = text.split()
        return None, parts[1] if len(parts) > 1 else None
    head = text.split()[0]
    value = int(head, 0)
    m = re.match(r"-1 (E[A-Z0-9_]+)", text)
    return value, m.group(1) if m else None


def strace_calls(path: Path) -> dict[int, list[Call]]:
    """Per pid, the (name, errno, normalised ret) of each completed syscall in `strace -f -o`."""
    pending: dict[int, str] = {}
    out: dict[int, list[Call]] = defaultdict(list)
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        if rest.startswith(("---", "+++")):
            continue
        resumed = _RESUMED.match(rest)
        if rest.endswith("<unfinished ...>"):
            call = _CALL.match(rest)
            if call:
                pending[pid] = call.group(1)
            continue
        name = resumed.group(1) if resumed else (_CALL.match(rest) or [None, None])[1]
        if resumed:
            pending.pop(pid, None)
        ret = _RET.search(rest)
        if name is None or ret is None:
            continue
        value, errno = _parse_ret(ret.group(1))
        out[pid].append(normalise(name, value, errno))
    return dict(out)


def sequences(per_tid: dict[int, list[Call]]) -> list[list[Call]]:
    """Per-thread sequences in a tid-independent order (sorted)."""
    return sorted(per_tid.values(), key=repr)


BLOCKED_READ_C = r"""
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static int fds[2];
static volatile long reader_tid;
static void *reader(void *arg) {
    char c;
    (void)arg;
    reader_tid = syscall(SYS_gettid);
    read(fds[0], &c, 1);
    return NULL;
}
int main(void) {
    pthread_t t;
    char path[64], buf[512];
    pipe(fds);
    pthread_create(&t, NULL, reader, NULL);
    while (!reader_tid) usleep(1000);
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", reader_tid);
    for (;;) {  /* until the reader sleeps in read() */
        int fd = open(path, O_RDONLY);
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        char *end = strrchr(buf, ')');
        if (end && end[2] == 'S') break;
        usleep(1000);
    }
    getppid();
    write(fds[1], "x", 1);
    pthread_join(t, NULL);
    return 0;
}
"""
