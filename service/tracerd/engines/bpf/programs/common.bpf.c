/* tracerd common preamble, included before every program tracerd generates.
 *
 * Preceded by generated #defines: TRACERD_EXCLUDED(tgid) (the daemon and its workers:
 * never traced), optional TRACERD_PID / TRACERD_COMM_BYTES (the session's filters),
 * TRACERD_OFF_<struct>__<member> (offsets from the running kernel's BTF), and, for tools
 * that emit events, TRACERD_EVENTS, TRACERD_RINGBUF_PAGES and `struct tracerd_event`.
 * Kernel structs are never dereferenced through headers (they may be another kernel's):
 * only through BTF offsets and bpf_probe_read_kernel().
 */

#define TRACERD_TASK_COMM_LEN 16

/* Ring-buffer reservations that failed (the buffer was full): one per-CPU u64. */
BPF_PERCPU_ARRAY(tracerd_lost, u64, 1);

static __always_inline void tracerd_count_lost(void)
{
    u32 zero = 0;
    u64 *n = tracerd_lost.lookup(&zero);
    if (n)
        *n += 1;
}

static __always_inline void *tracerd_counted(void *p)
{
    if (!p)
        tracerd_count_lost();
    return p;
}

static __always_inline long tracerd_counted_rc(long rc)
{
    if (rc < 0)
        tracerd_count_lost();
    return rc;
}

static __always_inline int tracerd_comm_differs(const char *comm)
{
#ifdef TRACERD_COMM_BYTES
    char want[TRACERD_TASK_COMM_LEN] = TRACERD_COMM_BYTES;
#pragma unroll
    for (int i = 0; i < TRACERD_TASK_COMM_LEN; i++) {
        if (comm[i] != want[i])
            return 1;
        if (want[i] == 0)
            return 0;
    }
#endif
    return 0;
}

#ifdef TRACERD_START_OFF
/* A task's process start time in /proc clock ticks (group_leader->start_boottime): with
 * the tgid, an id no later process reuses. */
static __always_inline u64 tracerd_start_ticks(const char *task)
{
    const char *leader = 0;
    u64 start = 0;
    bpf_probe_read_kernel(&leader, sizeof(leader), task + TRACERD_LEADER_OFF);
    bpf_probe_read_kernel(&start, sizeof(start), leader + TRACERD_START_OFF);
    return start / TRACERD_TICK_NS;
}
#endif

/* Skip process `tgid` (started at `start` ticks: checked only for an excluded pid, so
 * that a process reusing a gone worker's pid is traced), or one the pid filter leaves out. */
static __always_inline int tracerd_skip_process(u32 tgid, u64 start)
{
#ifdef TRACERD_START_OFF
    if (TRACERD_EXCLUDED(tgid) && TRACERD_EXCLUDED_AT(tgid, start))
        return 1;
#else
    if (TRACERD_EXCLUDED(tgid))
        return 1;
#endif
#ifdef TRACERD_PID
    if (tgid != TRACERD_PID)
        return 1;
#endif
    return 0;
}

#ifdef TRACERD_START_OFF
#define TRACERD_TASK_START(task) tracerd_start_ticks(task)
#else
#define TRACERD_TASK_START(task) 0
#endif

static __always_inline int tracerd_skip_current(void)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    /* the start time is read only for an excluded pid */
    if (TRACERD_EXCLUDED(tgid)
            ? tracerd_skip_process(tgid, TRACERD_TASK_START((const char *)bpf_get_current_task()))
            : tracerd_skip_process(tgid, 0))
        return 1;
#ifdef TRACERD_COMM_BYTES
    char comm[TRACERD_TASK_COMM_LEN] = {};
    bpf_get_current_comm(comm, sizeof(comm));
    if (tracerd_comm_differs(comm))
        return 1;
#endif
    return 0;
}

#ifdef TRACERD_OFF_task_struct__tgid
/* A task other than current (runqlat's wakee): tgid, start time and comm through BTF
 * offsets. */
static __always_inline int tracerd_skip_task(const char *task)
{
    u32 tgid = 0;
    bpf_probe_read_kernel(&tgid, sizeof(tgid), task + TRACERD_OFF_task_struct__tgid);
    if (tracerd_skip_process(tgid, TRACERD_EXCLUDED(tgid) ? TRACERD_TASK_START(task) : 0))
        return 1;
#if defined(TRACERD_COMM_BYTES) && defined(TRACERD_OFF_task_struct__comm)
    char comm[TRACERD_TASK_COMM_LEN] = {};
    bpf_probe_read_kernel(comm, sizeof(comm), task + TRACERD_OFF_task_struct__comm);
    if (tracerd_comm_differs(comm))
        return 1;
#endif
    return 0;
}
#endif

#if defined(TRACERD_OFF_task_struct__real_parent) && defined(TRACERD_OFF_task_struct__tgid)
/* The parent process of current, as /proc/PID/stat's ppid: real_parent->tgid. */
static __always_inline u32 tracerd_ppid(void)
{
    const char *task = (const char *)bpf_get_current_task();
    const char *parent = 0;
    u32 ppid = 0;
    bpf_probe_read_kernel(&parent, sizeof(parent), task + TRACERD_OFF_task_struct__real_parent);
    if (parent)
        bpf_probe_read_kernel(&ppid, sizeof(ppid), parent + TRACERD_OFF_task_struct__tgid);
    return ppid;
}
#endif

#ifdef TRACERD_EVENTS
/* Consumed by polling (never woken per record): submit with BPF_RB_NO_WAKEUP. */
BPF_RINGBUF_OUTPUT(events, TRACERD_RINGBUF_PAGES);

static __always_inline struct tracerd_event *tracerd_reserve(void)
{
    struct tracerd_event *e = events.ringbuf_reserve(sizeof(struct tracerd_event));
    if (!e) {
        tracerd_count_lost();
        return 0;
    }
    u64 id = bpf_get_current_pid_tgid();
    e->ts_ns = bpf_ktime_get_ns();
    e->pid = id >> 32;
    e->tid = (u32)id;
    e->cpu = bpf_get_smp_processor_id();
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    return e;
}

static __always_inline void tracerd_submit(struct tracerd_event *e)
{
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}
#endif
