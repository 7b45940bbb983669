/* exitsnoop: one event per process exit (the thread-group leader's, as exitsnoop does;
 * every thread with TRACERD_ARG_PER_THREAD), from sched:sched_process_exit.
 *
 * exit_code and start_time are read from current's task_struct through BTF offsets:
 * do_exit() stores exit_code before the tracepoint fires; start_time is CLOCK_MONOTONIC ns
 * like bpf_ktime_get_ns(), so age = now - start_time.
 * Parameters: TRACERD_ARG_PER_THREAD, TRACERD_ARG_FAILED (non-zero exits only).
 */

int trd_exit(struct tracepoint__sched__sched_process_exit *args)
{
    u64 id = bpf_get_current_pid_tgid();
#ifndef TRACERD_ARG_PER_THREAD
    if ((id >> 32) != (u32)id)
        return 0;
#endif
    if (tracerd_skip_current())
        return 0;
    const char *task = (const char *)bpf_get_current_task();
    u32 status = 0;
    u64 start = 0;
    bpf_probe_read_kernel(&status, sizeof(status), task + TRACERD_OFF_task_struct__exit_code);
#ifdef TRACERD_ARG_FAILED
    if (status == 0)
        return 0;
#endif
    bpf_probe_read_kernel(&start, sizeof(start), task + TRACERD_OFF_task_struct__start_time);
    struct tracerd_event *e = tracerd_reserve();
    if (!e)
        return 0;
    e->age_ns = e->ts_ns - start;
    e->ppid = tracerd_ppid();
    e->status = status;
    tracerd_submit(e);
    return 0;
}
