/* profile: CPU samples on the software cpu-clock perf event (no hardware PMU needed),
 * counted in the kernel by (tgid, comm, user stack id, kernel stack id).
 *
 * Stacks go into a BPF_STACK_TRACE map; ids < 0 are errors (-EFAULT: no user stack for a
 * kernel thread; -EEXIST: bucket collision, the stack map is full). The idle task (pid 0)
 * is skipped unless TRACERD_ARG_INCLUDE_IDLE.
 * Parameters: TRACERD_ARG_USER_STACKS_ONLY, TRACERD_ARG_KERNEL_STACKS_ONLY,
 * TRACERD_STACK_STORAGE, TRACERD_MAX_ENTRIES.
 */

#include <uapi/linux/bpf_perf_event.h>

BPF_HASH(counts, struct counts_key, u64, TRACERD_MAX_ENTRIES);
BPF_STACK_TRACE(stack_traces, TRACERD_STACK_STORAGE);

int trd_profile(struct bpf_perf_event_data *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
#ifndef TRACERD_ARG_INCLUDE_IDLE
    if ((u32)id == 0)
        return 0;
#endif
    if (tracerd_skip_current())
        return 0;
    struct counts_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.pid = id >> 32;
    bpf_get_current_comm(key.comm, sizeof(key.comm));
#ifdef TRACERD_ARG_KERNEL_STACKS_ONLY
    key.user_stack_id = -1;
#else
    key.user_stack_id = stack_traces.get_stackid(&ctx->regs, BPF_F_USER_STACK);
#endif
#ifdef TRACERD_ARG_USER_STACKS_ONLY
    key.kernel_stack_id = -1;
#else
    key.kernel_stack_id = stack_traces.get_stackid(&ctx->regs, 0);
#endif
    counts.increment(key);
    return 0;
}
