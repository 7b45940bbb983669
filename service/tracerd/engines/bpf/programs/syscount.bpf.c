/* syscount: syscalls counted in the kernel, per syscall number (a per-CPU array: no
 * atomics, no hash) or per process (TRACERD_ARG_PER_PROCESS: a per-CPU hash by tgid).
 *
 * Counting happens at raw_syscalls:sys_exit; with TRACERD_ARG_LATENCY, sys_enter parks a
 * timestamp per thread and the exit adds the elapsed time. Calls that never return
 * (exit, exit_group) and calls already in flight when tracing starts are not counted.
 * Parameters: TRACERD_ARG_LATENCY, TRACERD_ARG_PER_PROCESS, TRACERD_ARG_FAILED.
 */

#ifdef TRACERD_ARG_PER_PROCESS
BPF_PERCPU_HASH(counts, struct counts_key, struct counts_value, 10240);
#else
BPF_PERCPU_ARRAY(counts, struct counts_value, TRACERD_MAX_SYSCALLS);
#endif

#ifdef TRACERD_ARG_LATENCY
BPF_HASH(sc_start, u64, u64, 10240);

int trd_sc_enter(struct tracepoint__raw_syscalls__sys_enter *args)
{
    if (tracerd_skip_current())
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    u64 ts = bpf_ktime_get_ns();
    sc_start.update(&id, &ts);
    return 0;
}
#endif

int trd_sc_exit(struct tracepoint__raw_syscalls__sys_exit *args)
{
#ifdef TRACERD_ARG_LATENCY
    u64 id = bpf_get_current_pid_tgid();
    u64 *start = sc_start.lookup(&id);
    if (!start)
        return 0;
    u64 delta = bpf_ktime_get_ns() - *start;
    sc_start.delete(&id);
#else
    if (tracerd_skip_current())
        return 0;
#endif
#ifdef TRACERD_ARG_FAILED
    if (args->ret >= 0)
        return 0;
#endif
#ifdef TRACERD_ARG_PER_PROCESS
    struct counts_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.pid = bpf_get_current_pid_tgid() >> 32;
    struct counts_value zero = {};
    struct counts_value *v = counts.lookup_or_try_init(&key, &zero);
    if (!v)
        return 0;
    if (v->count == 0)
        bpf_get_current_comm(v->comm, sizeof(v->comm));
#else
    u32 key = args->id;
    if (key >= TRACERD_MAX_SYSCALLS)
        return 0;
    struct counts_value *v = counts.lookup(&key);
    if (!v)
        return 0;
#endif
    v->count += 1;
#ifdef TRACERD_ARG_LATENCY
    v->total_ns += delta;
#endif
    return 0;
}
