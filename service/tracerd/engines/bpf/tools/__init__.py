"""The BPF tool catalogue: descriptions (meta, events, aggregates, spec), post-processing
(hooks) and the syscall table. Imports no bcc: the daemon serves it at GET /v1/bpf/tools."""
