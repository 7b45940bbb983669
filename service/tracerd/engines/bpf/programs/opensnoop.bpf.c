/* opensnoop: one event per open/openat/openat2, at its return.
 *
 * Entry parks the user pointer to the path and the flags in a hash keyed by pid_tgid;
 * the exit reads the path (the memory is still mapped) into the record. The path slot is
 * zeroed first so equal paths are byte-equal records (the decoder caches strings by bytes).
 * Parameters: TRACERD_ARG_FAILED (failed opens only).
 */

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
    u64 flags = 0;  /* struct open_how starts with u64 flags (uapi, stable) */
    bpf_probe_read_user(&flags, sizeof(flags), (const void *)args->how);
    return open_enter(args->filename, flags);
}

/* Every sys_exit_open* tracepoint has the same layout (__syscall_nr, ret). */
int trd_open_ret(struct tracepoint__syscalls__sys_exit_openat *args)
{
    u64 id = bpf_get_current_pid_tgid();
    struct open_start *s = open_pending.lookup(&id);
    if (!s)
        return 0;
    long ret = args->ret;
#ifdef TRACERD_ARG_FAILED
    if (ret >= 0) {
        open_pending.delete(&id);
        return 0;
    }
#endif
    struct tracerd_event *e = tracerd_reserve();
    if (e) {
        e->ret = ret;
        e->fd = ret < 0 ? -1 : ret;
        e->err = ret < 0 ? -ret : 0;
        e->flags = s->flags;
        __builtin_memset(e->path, 0, sizeof(e->path));
        bpf_probe_read_user_str(e->path, sizeof(e->path), s->path);
        tracerd_submit(e);
    }
    open_pending.delete(&id);
    return 0;
}
