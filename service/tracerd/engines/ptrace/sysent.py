"""x86-64 syscall numbers, names, argument counts and strace trace classes.

Numbers are the kernel ABI (arch/x86/entry/syscalls/syscall_64.tbl). Classes are the
membership strace 6.1 gives its `-e trace=%class` sets (learnt from strace's syscallent flags;
syscalls newer than strace 6.1 carry the flags of later strace releases). Letters:
d %desc, f %file, i %ipc, n %network, p %process, s %signal, m %memory, c %creds,
k %clock, S %stat, L %lstat, F %fstat, A %%stat, Y %statfs, Z %fstatfs, B %%statfs,
u %pure, N never fails; `-` none. Argument names and C types come from the running kernel's
syscall trace-event formats (syscalls.py); this table only names and classifies.
"""

from __future__ import annotations

# "nr name nargs classes" entries separated by "|"
TABLE_X86_64 = """
0 read 3 d | 1 write 3 d | 2 open 3 df | 3 close 1 d | 4 stat 2 ASf | 5 fstat 2 AFd
6 lstat 2 ALf | 7 poll 3 d | 8 lseek 3 d | 9 mmap 6 dm | 10 mprotect 3 m | 11 munmap 2 m
12 brk 1 m | 13 rt_sigaction 4 s | 14 rt_sigprocmask 4 s | 15 rt_sigreturn 0 s | 16 ioctl 3 d
17 pread64 4 d | 18 pwrite64 4 d | 19 readv 3 d | 20 writev 3 d | 21 access 2 f | 22 pipe 1 d
23 select 5 d | 24 sched_yield 0 - | 25 mremap 5 m | 26 msync 3 m | 27 mincore 3 m
28 madvise 3 m | 29 shmget 3 i | 30 shmat 3 im | 31 shmctl 3 i | 32 dup 1 d | 33 dup2 2 d
34 pause 0 s | 35 nanosleep 2 - | 36 getitimer 2 - | 37 alarm 1 - | 38 setitimer 3 -
39 getpid 0 Nu | 40 sendfile 4 dn | 41 socket 3 n | 42 connect 3 n | 43 accept 3 n
44 sendto 6 n | 45 recvfrom 6 n | 46 sendmsg 3 n | 47 recvmsg 3 n | 48 shutdown 2 n
49 bind 3 n | 50 listen 2 n | 51 getsockname 3 n | 52 getpeername 3 n | 53 socketpair 4 n
54 setsockopt 5 n | 55 getsockopt 5 n | 56 clone 5 p | 57 fork 0 p | 58 vfork 0 p
59 execve 3 fp | 60 exit 1 p | 61 wait4 4 p | 62 kill 2 ps | 63 uname 1 - | 64 semget 3 i
65 semop 3 i | 66 semctl 4 i | 67 shmdt 1 im | 68 msgget 2 i | 69 msgsnd 4 i | 70 msgrcv 5 i
71 msgctl 3 i | 72 fcntl 3 d | 73 flock 2 d | 74 fsync 1 d | 75 fdatasync 1 d
76 truncate 2 f | 77 ftruncate 2 d | 78 getdents 3 d | 79 getcwd 2 f | 80 chdir 1 f
81 fchdir 1 d | 82 rename 2 f | 83 mkdir 2 f | 84 rmdir 1 f | 85 creat 2 df | 86 link 2 f
87 unlink 1 f | 88 symlink 2 f | 89 readlink 3 f | 90 chmod 2 f | 91 fchmod 2 d
92 chown 3 f | 93 fchown 3 d | 94 lchown 3 f | 95 umask 1 N | 96 gettimeofday 2 k
97 getrlimit 2 - | 98 getrusage 2 - | 99 sysinfo 1 - | 100 times 1 - | 101 ptrace 4 -
102 getuid 0 Ncu | 103 syslog 3 - | 104 getgid 0 Ncu | 105 setuid 1 c | 106 setgid 1 c
107 geteuid 0 Ncu | 108 getegid 0 Ncu | 109 setpgid 2 - | 110 getppid 0 Nu | 111 getpgrp 0 Nu
112 setsid 0 - | 113 setreuid 2 c | 114 setregid 2 c | 115 getgroups 2 c | 116 setgroups 2 c
117 setresuid 3 c | 118 getresuid 3 c | 119 setresgid 3 c | 120 getresgid 3 c
121 getpgid 1 - | 122 setfsuid 1 Nc | 123 setfsgid 1 Nc | 124 getsid 1 - | 125 capget 2 c
126 capset 2 c | 127 rt_sigpending 2 s | 128 rt_sigtimedwait 4 s | 129 rt_sigqueueinfo 3 ps
130 rt_sigsuspend 2 s | 131 sigaltstack 2 s | 132 utime 2 f | 133 mknod 3 f | 134 uselib 1 f
135 personality 1 N | 136 ustat 2 B | 137 statfs 2 BYf | 138 fstatfs 2 BZd | 139 sysfs 3 -
140 getpriority 2 - | 141 setpriority 3 - | 142 sched_setparam 2 - | 143 sched_getparam 2 -
144 sched_setscheduler 3 - | 145 sched_getscheduler 1 - | 146 sched_get_priority_max 1 -
147 sched_get_priority_min 1 - | 148 sched_rr_get_interval 2 - | 149 mlock 2 m
150 munlock 2 m | 151 mlockall 1 m | 152 munlockall 0 m | 153 vhangup 0 -
154 modify_ldt 3 - | 155 pivot_root 2 f | 156 _sysctl 1 - | 157 prctl 5 c
158 arch_prctl 2 - | 159 adjtimex 1 k | 160 setrlimit 2 - | 161 chroot 1 f | 162 sync 0 -
163 acct 1 f | 164 settimeofday 2 k | 165 mount 5 f | 166 umount2 2 f | 167 swapon 2 f
168 swapoff 1 f | 169 reboot 4 - | 170 sethostname 2 - | 171 setdomainname 2 - | 172 iopl 1 -
173 ioperm 3 - | 174 create_module 2 - | 175 init_module 3 - | 176 delete_module 2 -
177 get_kernel_syms 1 - | 178 query_module 5 - | 179 quotactl 4 f | 180 nfsservctl 3 -
181 getpmsg 5 n | 182 putpmsg 5 n | 183 afs_syscall 5 - | 184 tuxcall 3 - | 185 security 3 -
186 gettid 0 Nu | 187 readahead 3 d | 188 setxattr 5 f | 189 lsetxattr 5 f
190 fsetxattr 5 d | 191 getxattr 4 f | 192 lgetxattr 4 f | 193 fgetxattr 4 d
194 listxattr 3 f | 195 llistxattr 3 f | 196 flistxattr 3 d | 197 removexattr 2 f
198 lremovexattr 2 f | 199 fremovexattr 2 d | 200 tkill 2 ps | 201 time 1 k | 202 futex 6 -
203 sched_setaffinity 3 - | 204 sched_getaffinity 3 - | 205 set_thread_area 1 -
206 io_setup 2 m | 207 io_destroy 1 m | 208 io_getevents 5 - | 209 io_submit 3 -
210 io_cancel 3 - | 211 get_thread_area 1 - | 212 lookup_dcookie 3 - | 213 epoll_create 1 d
214 epoll_ctl_old 4 - | 215 epoll_wait_old 4 - | 216 remap_file_pages 5 m
217 getdents64 3 d | 218 set_tid_address 1 - | 219 restart_syscall 0 - | 220 semtimedop 4 i
221 fadvise64 4 d | 222 timer_create 3 - | 223 timer_settime 4 - | 224 timer_gettime 2 -
225 timer_getoverrun 1 - | 226 timer_delete 1 - | 227 clock_settime 2 k
228 clock_gettime 2 k | 229 clock_getres 2 k | 230 clock_nanosleep 4 - | 231 exit_group 1 p
232 epoll_wait 4 d | 233 epoll_ctl 4 d | 234 tgkill 3 ps | 235 utimes 2 f | 236 vserver 5 -
237 mbind 6 m | 238 set_mempolicy 3 m | 239 get_mempolicy 5 m | 240 mq_open 4 d
241 mq_unlink 1 - | 242 mq_timedsend 5 d | 243 mq_timedreceive 5 d | 244 mq_notify 2 d
245 mq_getsetattr 3 d | 246 kexec_load 4 - | 247 waitid 5 p | 248 add_key 5 -
249 request_key 4 - | 250 keyctl 5 - | 251 ioprio_set 3 - | 252 ioprio_get 2 -
253 inotify_init 0 d | 254 inotify_add_watch 3 df | 255 inotify_rm_watch 2 d
256 migrate_pages 4 m | 257 openat 4 df | 258 mkdirat 3 df | 259 mknodat 4 df
260 fchownat 5 df | 261 futimesat 3 df | 262 newfstatat 4 AFdf | 263 unlinkat 3 df
264 renameat 4 df | 265 linkat 5 df | 266 symlinkat 3 df | 267 readlinkat 4 df
268 fchmodat 3 df | 269 faccessat 3 df | 270 pselect6 6 d | 271 ppoll 5 d | 272 unshare 1 -
273 set_robust_list 2 - | 274 get_robust_list 3 - | 275 splice 6 d | 276 tee 4 d
277 sync_file_range 4 d | 278 vmsplice 4 d | 279 move_pages 6 m | 280 utimensat 4 df
281 epoll_pwait 6 d | 282 signalfd 3 ds | 283 timerfd_create 2 d | 284 eventfd 1 d
285 fallocate 4 d | 286 timerfd_settime 4 d | 287 timerfd_gettime 2 d | 288 accept4 4 n
289 signalfd4 4 ds | 290 eventfd2 2 d | 291 epoll_create1 1 d | 292 dup3 3 d | 293 pipe2 2 d
294 inotify_init1 1 d | 295 preadv 4 d | 296 pwritev 4 d | 297 rt_tgsigqueueinfo 4 ps
298 perf_event_open 5 d | 299 recvmmsg 5 n | 300 fanotify_init 2 d | 301 fanotify_mark 5 df
302 prlimit64 4 - | 303 name_to_handle_at 5 df | 304 open_by_handle_at 3 d
305 clock_adjtime 2 k | 306 syncfs 1 d | 307 sendmmsg 4 n | 308 setns 2 d | 309 getcpu 3 -
310 process_vm_readv 6 - | 311 process_vm_writev 6 - | 312 kcmp 5 - | 313 finit_module 3 d
314 sched_setattr 3 - | 315 sched_getattr 4 - | 316 renameat2 5 df | 317 seccomp 3 -
318 getrandom 3 - | 319 memfd_create 2 d | 320 kexec_file_load 5 d | 321 bpf 3 d
322 execveat 5 dfp | 323 userfaultfd 1 d | 324 membarrier 3 - | 325 mlock2 3 m
326 copy_file_range 6 d | 327 preadv2 6 d | 328 pwritev2 6 d | 329 pkey_mprotect 4 m
330 pkey_alloc 2 - | 331 pkey_free 1 - | 332 statx 5 AFdf | 333 io_pgetevents 6 -
334 rseq 4 - | 335 uretprobe 0 - | 336 uprobe 0 - | 424 pidfd_send_signal 4 dps
425 io_uring_setup 2 d | 426 io_uring_enter 6 ds | 427 io_uring_register 4 dm
428 open_tree 3 df | 429 move_mount 5 df | 430 fsopen 2 d | 431 fsconfig 5 df
432 fsmount 3 d | 433 fspick 3 df | 434 pidfd_open 2 d | 435 clone3 2 p | 436 close_range 3 -
437 openat2 4 df | 438 pidfd_getfd 3 d | 439 faccessat2 4 df | 440 process_madvise 5 d
441 epoll_pwait2 6 d | 442 mount_setattr 5 df | 443 quotactl_fd 4 d
444 landlock_create_ruleset 3 d | 445 landlock_add_rule 4 d | 446 landlock_restrict_self 2 d
447 memfd_secret 1 d | 448 process_mrelease 2 d | 449 futex_waitv 5 -
450 set_mempolicy_home_node 4 m | 451 cachestat 4 d | 452 fchmodat2 4 df
453 map_shadow_stack 3 m | 454 futex_wake 4 - | 455 futex_wait 6 - | 456 futex_requeue 4 -
457 statmount 4 - | 458 listmount 4 - | 459 lsm_get_self_attr 4 - | 460 lsm_set_self_attr 4 -
461 lsm_list_modules 3 - | 462 mseal 3 m | 463 setxattrat 6 df | 464 getxattrat 6 df
465 listxattrat 5 df | 466 removexattrat 4 df | 467 open_tree_attr 5 df
468 file_getattr 5 df | 469 file_setattr 5 df
"""
