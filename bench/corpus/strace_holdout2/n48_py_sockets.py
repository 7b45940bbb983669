#!/usr/bin/python3 -S
# python: a socketpair, sendmsg with ancillary data, select and a small file
import array
import os
import select
import socket

a, b = socket.socketpair()
fds = array.array("i", [0])
a.sendmsg([b"hello", b"world"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
select.select([b], [], [], 1.0)
msg, anc, flags, addr = b.recvmsg(64, socket.CMSG_SPACE(4))
for _, _, data in anc:
    os.close(array.array("i", data)[0])
a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
a.close()
b.close()
with open("f.txt", "w") as f:
    f.write("x" * 100)
os.stat("f.txt")
os.unlink("f.txt")
