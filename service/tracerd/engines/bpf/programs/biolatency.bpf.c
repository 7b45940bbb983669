/* biolatency: block I/O latency as a log2 histogram, from block tracepoints.
 *
 * A request is keyed by (dev, sector) from the tracepoint fields (no struct request
 * access): its start is block_rq_issue (device time) or, with TRACERD_ARG_QUEUED,
 * block_rq_insert (queue + device time); block_rq_complete closes it. The pid/comm filter
 * and the daemon exclusion apply to the task current at the start, which for issue is
 * often a kworker: use queued=true to select by the submitting process.
 * Parameters: TRACERD_UNIT_NS, TRACERD_ARG_QUEUED, TRACERD_ARG_DISKS (one histogram per dev).
 */

struct bio_req {
    u32 dev;
    u32 pad;
    u64 sector;
};

BPF_HASH(bio_start, struct bio_req, u64, 10240);
#ifdef TRACERD_ARG_DISKS
BPF_HISTOGRAM(dist, struct dist_key);
#else
BPF_HISTOGRAM(dist);
#endif

static __always_inline int bio_begin(u32 dev, u64 sector)
{
    if (tracerd_skip_current())
        return 0;
    struct bio_req r;
    __builtin_memset(&r, 0, sizeof(r));
    r.dev = dev;
    r.sector = sector;
    u64 ts = bpf_ktime_get_ns();
    bio_start.update(&r, &ts);
    return 0;
}

int trd_bio_insert(struct tracepoint__block__block_rq_insert *args)
{
    return bio_begin(args->dev, args->sector);
}

int trd_bio_issue(struct tracepoint__block__block_rq_issue *args)
{
    return bio_begin(args->dev, args->sector);
}

int trd_bio_done(struct tracepoint__block__block_rq_complete *args)
{
    struct bio_req r;
    __builtin_memset(&r, 0, sizeof(r));
    r.dev = args->dev;
    r.sector = args->sector;
    u64 *tsp = bio_start.lookup(&r);
    if (!tsp)
        return 0;
    u64 delta = (bpf_ktime_get_ns() - *tsp) / TRACERD_UNIT_NS;
    bio_start.delete(&r);
#ifdef TRACERD_ARG_DISKS
    struct dist_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.dev = args->dev;
    key.slot = bpf_log2l(delta);
    dist.increment(key);
#else
    dist.increment(bpf_log2l(delta));
#endif
    return 0;
}
