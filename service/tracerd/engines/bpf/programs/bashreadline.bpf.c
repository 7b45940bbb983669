/* bashreadline: the line returned by readline() (a uretprobe on the binary's readline
 * symbol; bash links readline statically), one event per line typed.
 */

#include <uapi/linux/ptrace.h>

int trd_readline(struct pt_regs *ctx)
{
    if (tracerd_skip_current())
        return 0;
    const char *line = (const char *)PT_REGS_RC(ctx);
    if (!line)
        return 0;
    struct tracerd_event *e = tracerd_reserve();
    if (!e)
        return 0;
    __builtin_memset(e->command, 0, sizeof(e->command));
    bpf_probe_read_user_str(e->command, sizeof(e->command), line);
    tracerd_submit(e);
    return 0;
}
