/* tcplife / tcpstates: TCP sessions from sock:inet_sock_set_state (stable tracepoint
 * fields: skaddr, old/new state, ports in host order, family, addresses).
 *
 * tcplife (TRACERD_TCPLIFE): a socket is born at its last transition to a state before
 * FIN_WAIT1 (as BCC's tcplife), its owner is remembered at the transitions made from
 * process context (SYN_SENT: connect; FIN_WAIT1, LAST_ACK: close), and one event is
 * emitted at CLOSE with the lifespan and the byte counts of the tcp_sock
 * (bytes_received, bytes_acked via BTF offsets). Filters apply to the remembered owner.
 * tcpstates (TRACERD_TCPSTATES): one event per transition, with the time spent in the
 * old state; pid/comm are the task current at the transition (softirq: whoever ran).
 * Parameters: TRACERD_ARG_LPORT, TRACERD_ARG_RPORT.
 */

#define TRD_IPPROTO_TCP 6
#define TRD_AF_INET 2
#define TRD_TCP_SYN_SENT 2
#define TRD_TCP_FIN_WAIT1 4
#define TRD_TCP_CLOSE 7
#define TRD_TCP_LAST_ACK 9

/* BCC generates `struct tracepoint__sock__inet_sock_set_state` only inside the programs
 * that take it, so the shared parts are macros over `args`. */
#ifdef TRACERD_ARG_LPORT
#define TCP_LPORT_SKIP(args) ((args)->sport != TRACERD_ARG_LPORT)
#else
#define TCP_LPORT_SKIP(args) 0
#endif
#ifdef TRACERD_ARG_RPORT
#define TCP_RPORT_SKIP(args) ((args)->dport != TRACERD_ARG_RPORT)
#else
#define TCP_RPORT_SKIP(args) 0
#endif
#define TCP_SKIP(args) \
    ((args)->protocol != TRD_IPPROTO_TCP || TCP_LPORT_SKIP(args) || TCP_RPORT_SKIP(args))

#define TCP_FILL(e, args)                                        \
    do {                                                         \
        (e)->family = (args)->family;                            \
        (e)->lport = (args)->sport;                              \
        (e)->rport = (args)->dport;                              \
        __builtin_memset((e)->laddr, 0, sizeof((e)->laddr));     \
        __builtin_memset((e)->raddr, 0, sizeof((e)->raddr));     \
        if ((args)->family == TRD_AF_INET) {                     \
            __builtin_memcpy((e)->laddr, (args)->saddr, 4);      \
            __builtin_memcpy((e)->raddr, (args)->daddr, 4);      \
        } else {                                                 \
            __builtin_memcpy((e)->laddr, (args)->saddr_v6, 16);  \
            __builtin_memcpy((e)->raddr, (args)->daddr_v6, 16);  \
        }                                                        \
    } while (0)

#ifdef TRACERD_TCPLIFE
struct tl_owner {
    u32 pid;
    char comm[TRACERD_TASK_COMM_LEN];
    u64 start; /* its start time in clock ticks: with the pid, the process */
};

BPF_HASH(tl_birth, u64, u64, 10240);
BPF_HASH(tl_owner, u64, struct tl_owner, 10240);

int trd_tcp_life(struct tracepoint__sock__inet_sock_set_state *args)
{
    if (TCP_SKIP(args))
        return 0;
    u64 sk = (u64)args->skaddr;
    int state = args->newstate;
    if (state < TRD_TCP_FIN_WAIT1) {
        u64 ts = bpf_ktime_get_ns();
        tl_birth.update(&sk, &ts);
    }
    if (state == TRD_TCP_SYN_SENT || state == TRD_TCP_FIN_WAIT1 || state == TRD_TCP_LAST_ACK) {
        struct tl_owner me = {};
        me.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(me.comm, sizeof(me.comm));
        me.start = TRACERD_EXCLUDED(me.pid)
                       ? TRACERD_TASK_START((const char *)bpf_get_current_task())
                       : 0;
        tl_owner.update(&sk, &me);
    }
    if (state != TRD_TCP_CLOSE)
        return 0;

    u64 *birth = tl_birth.lookup(&sk);
    struct tl_owner owner = {};
    struct tl_owner *o = tl_owner.lookup(&sk);
    if (o)
        __builtin_memcpy(&owner, o, sizeof(owner));
    tl_owner.delete(&sk);
    if (!birth)
        return 0;
    u64 span = bpf_ktime_get_ns() - *birth;
    tl_birth.delete(&sk);
    if (owner.pid ? (tracerd_skip_process(owner.pid, owner.start) ||
                     tracerd_comm_differs(owner.comm))
                  : TRACERD_FILTERED)
        return 0;

    struct tracerd_event *e = tracerd_reserve();
    if (!e)
        return 0;
    if (owner.pid) {
        e->pid = owner.pid;
        e->tid = owner.pid;
        __builtin_memcpy(e->comm, owner.comm, sizeof(e->comm));
    }
    e->span_ns = span;
    e->rx_bytes = 0;
    e->tx_bytes = 0;
    bpf_probe_read_kernel(&e->rx_bytes, sizeof(e->rx_bytes),
                          (const char *)sk + TRACERD_OFF_tcp_sock__bytes_received);
    bpf_probe_read_kernel(&e->tx_bytes, sizeof(e->tx_bytes),
                          (const char *)sk + TRACERD_OFF_tcp_sock__bytes_acked);
    TCP_FILL(e, args);
    tracerd_submit(e);
    return 0;
}
#endif

#ifdef TRACERD_TCPSTATES
BPF_HASH(ts_last, u64, u64, 10240);

int trd_tcp_state(struct tracepoint__sock__inet_sock_set_state *args)
{
    if (TCP_SKIP(args))
        return 0;
    u64 sk = (u64)args->skaddr;
    u64 now = bpf_ktime_get_ns();
    u64 *last = ts_last.lookup(&sk);
    u64 delta = last ? now - *last : 0;
    if (args->newstate == TRD_TCP_CLOSE)
        ts_last.delete(&sk);
    else
        ts_last.update(&sk, &now);
    if (tracerd_skip_current())
        return 0;

    struct tracerd_event *e = tracerd_reserve();
    if (!e)
        return 0;
    e->skaddr = sk;
    e->delta_ns = delta;
    e->oldstate = args->oldstate;
    e->newstate = args->newstate;
    TCP_FILL(e, args);
    tracerd_submit(e);
    return 0;
}
#endif
