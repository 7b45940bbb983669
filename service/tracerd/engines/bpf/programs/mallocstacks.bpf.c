/* mallocstacks: bytes requested from malloc() (or another allocator symbol), summed in
 * the kernel by (tgid, user stack). A uprobe at the function's first instruction reads
 * the size argument (PT_REGS_PARM1). With frame-pointer unwinding the immediate caller
 * of malloc is not in the stack (the frame is not set up yet at the probe): the stack
 * starts at malloc itself, then the caller's caller.
 * Parameters: TRACERD_STACK_STORAGE, TRACERD_MAX_ENTRIES.
 */

#include <uapi/linux/ptrace.h>

BPF_HASH(allocs, struct allocs_key, struct allocs_value, TRACERD_MAX_ENTRIES);
BPF_STACK_TRACE(stack_traces, TRACERD_STACK_STORAGE);

int trd_malloc(struct pt_regs *ctx)
{
    if (tracerd_skip_current())
        return 0;
    struct allocs_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.pid = bpf_get_current_pid_tgid() >> 32;
    key.user_stack_id = stack_traces.get_stackid(ctx, BPF_F_USER_STACK);
    key.kernel_stack_id = -1;
    bpf_get_current_comm(key.comm, sizeof(key.comm));
    struct allocs_value zero = {};
    struct allocs_value *v = allocs.lookup_or_try_init(&key, &zero);
    if (v) {
        lock_xadd(&v->bytes, PT_REGS_PARM1(ctx));
        lock_xadd(&v->count, 1);
    }
    return 0;
}
