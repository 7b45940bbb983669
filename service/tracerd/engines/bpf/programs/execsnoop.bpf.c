/* execsnoop: one event per execve/execveat, at its return.
 *
 * argv is read at entry (after a successful exec the old address space is gone) into a
 * per-CPU scratch slot, parked in a hash keyed by tgid (de_thread() turns the exec'ing
 * thread into the leader, so the tid may change but the tgid does not), and copied into
 * the record at exit together with ret and the parent's tgid (real_parent->tgid via BTF).
 * Parameters: TRACERD_MAXARG, TRACERD_ARGSIZE, TRACERD_ARG_FAILED (failed execs only).
 */

struct exec_args {
    u32 argc;
    u32 truncated;
    char args[TRACERD_MAXARG][TRACERD_ARGSIZE];
};

BPF_PERCPU_ARRAY(exec_scratch, struct exec_args, 1);
BPF_HASH(exec_pending, u32, struct exec_args, 1024);

static __always_inline int exec_enter(const char *const *argv)
{
    if (tracerd_skip_current())
        return 0;
    u32 zero = 0;
    struct exec_args *a = exec_scratch.lookup(&zero);
    if (!a)
        return 0;
    a->argc = 0;
    a->truncated = 0;
#pragma unroll
    for (int i = 0; i < TRACERD_MAXARG; i++) {
        const char *p = 0;
        bpf_probe_read_user(&p, sizeof(p), &argv[i]);
        if (!p)
            break;
        __builtin_memset(a->args[i], 0, TRACERD_ARGSIZE);
        bpf_probe_read_user_str(a->args[i], TRACERD_ARGSIZE, p);
        a->argc = i + 1;
    }
    if (a->argc == TRACERD_MAXARG) {
        const char *more = 0;
        bpf_probe_read_user(&more, sizeof(more), &argv[TRACERD_MAXARG]);
        a->truncated = more != 0;
    }
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    exec_pending.update(&tgid, a);
    return 0;
}

int trd_exec_execve(struct tracepoint__syscalls__sys_enter_execve *args)
{
    return exec_enter(args->argv);
}

int trd_exec_execat(struct tracepoint__syscalls__sys_enter_execveat *args)
{
    return exec_enter(args->argv);
}

/* sys_exit_execve and sys_exit_execveat share one layout (__syscall_nr, ret). */
int trd_exec_ret(struct tracepoint__syscalls__sys_exit_execve *args)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct exec_args *a = exec_pending.lookup(&tgid);
    if (!a)
        return 0;
    long ret = args->ret;
#ifdef TRACERD_ARG_FAILED
    if (ret >= 0) {
        exec_pending.delete(&tgid);
        return 0;
    }
#endif
    struct tracerd_event *e = tracerd_reserve();
    if (e) {
        e->ret = ret;
        e->ppid = tracerd_ppid();
        e->argc = a->argc;
        e->truncated = a->truncated;
        bpf_probe_read_kernel(e->args, sizeof(e->args), a->args);
        tracerd_submit(e);
    }
    exec_pending.delete(&tgid);
    return 0;
}
