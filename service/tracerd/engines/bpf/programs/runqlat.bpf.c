/* runqlat: run-queue latency (wake-up or preemption to running) as a log2 histogram.
 *
 * Raw tracepoints give the task_struct pointers: sched_wakeup/_new(p) and
 * sched_switch(preempt, prev, next); pid, tgid and __state are read through BTF offsets.
 * A task is enqueued when woken, or when switched out while still runnable (preempted,
 * or __state == TASK_RUNNING); its latency is taken when it is switched in.
 * Parameters: TRACERD_UNIT_NS (1000: usecs, 1000000: msecs), TRACERD_ARG_PER_PROCESS.
 */

BPF_HASH(rq_start, u32, u64, 10240);
#ifdef TRACERD_ARG_PER_PROCESS
BPF_HISTOGRAM(dist, struct dist_key);
#else
BPF_HISTOGRAM(dist);
#endif

static __always_inline void rq_enqueue(const char *task)
{
    u32 tid = 0;
    bpf_probe_read_kernel(&tid, sizeof(tid), task + TRACERD_OFF_task_struct__pid);
    if (tid == 0 || tracerd_skip_task(task))
        return;
    u64 ts = bpf_ktime_get_ns();
    rq_start.update(&tid, &ts);
}

int trd_rq_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
    rq_enqueue((const char *)ctx->args[0]);
    return 0;
}

int trd_rq_wakenew(struct bpf_raw_tracepoint_args *ctx)
{
    rq_enqueue((const char *)ctx->args[0]);
    return 0;
}

int trd_rq_switch(struct bpf_raw_tracepoint_args *ctx)
{
    const char *prev = (const char *)ctx->args[1];
    const char *next = (const char *)ctx->args[2];
    u32 state = 0;
    bpf_probe_read_kernel(&state, sizeof(state), prev + TRACERD_OFF_task_struct__state);
    if (ctx->args[0] || state == 0)
        rq_enqueue(prev);

    u32 tid = 0;
    bpf_probe_read_kernel(&tid, sizeof(tid), next + TRACERD_OFF_task_struct__pid);
    u64 *tsp = rq_start.lookup(&tid);
    if (!tsp)
        return 0;
    u64 delta = (bpf_ktime_get_ns() - *tsp) / TRACERD_UNIT_NS;
    rq_start.delete(&tid);
#ifdef TRACERD_ARG_PER_PROCESS
    struct dist_key key;
    __builtin_memset(&key, 0, sizeof(key));
    bpf_probe_read_kernel(&key.pid, sizeof(key.pid), next + TRACERD_OFF_task_struct__tgid);
    key.slot = bpf_log2l(delta);
    dist.increment(key);
#else
    dist.increment(bpf_log2l(delta));
#endif
    return 0;
}
