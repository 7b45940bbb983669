#!/usr/bin/python3 -S
# python: os-level file calls, a directory listing, a pipe to a child and an error
import os

os.mkdir("d", 0o755)
fd = os.open("d/x", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o640)
os.write(fd, b"\x00\x01binary\xff")
os.fsync(fd)
os.close(fd)
sorted(os.listdir("d"))
try:  # noqa: SIM105 (a plain try, as the measured trace has it)
    os.open("d/nothing", os.O_RDONLY)
except FileNotFoundError:
    pass
r, w = os.pipe()
os.write(w, b"through a pipe\n")
os.read(r, 100)
os.close(r)
os.close(w)
os.rename("d/x", "d/y")
os.unlink("d/y")
os.rmdir("d")
