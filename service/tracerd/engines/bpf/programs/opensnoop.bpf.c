/* opensnoop: one event per open/openat/openat2/creat, with its result.
 *
 * Three ways in; the engine picks one (variants.py) and defines its macro:
 *   TRACERD_ATTACH_FENTRY  one fexit program on do_sys_openat2(dfd, filename, how) -> fd,
 *                          which all four syscalls go through (fs/open.c, Linux 5.6+): the
 *                          arguments and the result in one place, no per-call state.
 *   TRACERD_ATTACH_KPROBE  a kprobe on do_sys_openat2 parks the path pointer and the flags
 *                          per thread; the kretprobe emits.
 *   neither                the syscall tracepoints: sys_enter_* park, sys_exit_* emit.
 * `how` is a kernel pointer in both function variants (do_sys_open builds it on its stack,
 * openat2 copies the caller's); struct open_how is UAPI and starts with `u64 flags`, so
 * reading 8 bytes at `how` is right whatever the headers. On 64-bit kernels open, openat
 * and openat2 add O_LARGEFILE to the flags before do_sys_openat2: it is cleared there, so
 * `flags` reads as the caller passed it (as the tracepoints show it). The path is read
 * from user memory at the return (still mapped); the slot is zeroed first so equal paths
 * are byte-equal records (the decoder caches strings by bytes).
 * Parameters: TRACERD_ARG_FAILED (failed opens only).
 */

#include <asm/fcntl.h>

static __always_inline void open_emit(const char *path, u64 flags, long ret)
{
#ifdef TRACERD_ARG_FAILED
    if (ret >= 0)
        return;
#endif
    struct tracerd_event *e = tracerd_reserve();
    if (!e)
        return;
    e->ret = ret;
    e->fd = ret < 0 ? -1 : ret;
    e->err = ret < 0 ? -ret : 0;
    e->flags = flags;
    __builtin_memset(e->path, 0, sizeof(e->path));
    bpf_probe_read_user_str(e->path, sizeof(e->path), path);
    tracerd_submit(e);
}

/* The flags of a struct open_how (kernel memory), as the caller passed them. */
static __always_inline u64 open_how_flags(const void *how)
{
    u64 flags = 0;
    bpf_probe_read_kernel(&flags, sizeof(flags), how);
    return flags & ~(u64)O_LARGEFILE;
}

#if defined(TRACERD_ATTACH_FENTRY)

KRETFUNC_PROBE(do_sys_openat2, int dfd, const char *filename, const void *how, long ret)
{
    if (tracerd_skip_current())
        return 0;
    open_emit(filename, open_how_flags(how), ret);
    return 0;
}

#else /* kprobes or tracepoints: park the arguments at entry, emit at the return */

struct open_start {
    const char *path;
    u64 flags;
};

BPF_HASH(open_pending, u64, struct open_start, 10240);

static __always_inline int open_enter(const char *path, u64 flags)
{
    if (tracerd_skip_current())
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct open_start s = {};
    s.path = path;
    s.flags = flags;
    open_pending.update(&id, &s);
    return 0;
}

static __always_inline int open_exit(long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct open_start *s = open_pending.lookup(&id);
    if (!s)
        return 0;
    open_emit(s->path, s->flags, ret);
    open_pending.delete(&id);
    return 0;
}

#if defined(TRACERD_ATTACH_KPROBE)
#include <uapi/linux/ptrace.h>  /* struct pt_regs: UAPI layout */

int trd_open_kentry(struct pt_regs *ctx)
{
    const void *how = (const void *)PT_REGS_PARM3(ctx);
    return open_enter((const char *)PT_REGS_PARM2(ctx), open_how_flags(how));
}

int trd_open_kret(struct pt_regs *ctx)
{
    return open_exit(PT_REGS_RC(ctx));
}

#else

int trd_open_openat(struct tracepoint__syscalls__sys_enter_openat *args)
{
    return open_enter(args->filename, args->flags);
}

int trd_open_open(struct tracepoint__syscalls__sys_enter_open *args)
{
    return open_enter(args->filename, args->flags);
}

int trd_open_openat2(struct tracepoint__syscalls__sys_enter_openat2 *args)
{
    u64 flags = 0;  /* the caller's struct open_how: user memory here */
    bpf_probe_read_user(&flags, sizeof(flags), (const void *)args->how);
    return open_enter(args->filename, flags);
}

int trd_open_creat(struct tracepoint__syscalls__sys_enter_creat *args)
{
    return open_enter(args->pathname, O_CREAT | O_WRONLY | O_TRUNC);  /* fs/open.c */
}

/* Every sys_exit_open* tracepoint has the same layout (__syscall_nr, ret). */
int trd_open_ret(struct tracepoint__syscalls__sys_exit_openat *args)
{
    return open_exit(args->ret);
}

#endif
#endif
