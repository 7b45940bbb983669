# ruff: noqa: E501 - scripts are data: one case, one line
"""The corpus of bench/bpftrace_fidelity.py: bpftrace scripts, each with its workload.

Workloads run in the bench's work directory (`./fidprog` is bpftrace_corpus/fidprog.c,
`./fidsh` a copy of dash, so `comm` names them) and make the same calls on every run.
`masks` are regexes whose matches differ between runs (times, pids, addresses); both
outputs get them replaced before they are compared. `error`: bpftrace refuses the script
or fails; its message (stderr) is compared too.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    name: str
    script: str
    work: tuple[str, ...] = ()
    masks: tuple[str, ...] = ()
    error: bool = False
    args: tuple[str, ...] = field(default=())
    """positional parameters: `bpftrace -e SCRIPT ARGS`"""
    opts: tuple[str, ...] = field(default=())
    """options: `bpftrace OPTS -e SCRIPT`"""


PROG = ("./fidprog", "5")
SH_LOOP = (
    "./fidsh",
    "-c",
    "i=0; while [ $i -lt 6 ]; do echo abcdefgh$i >/dev/null; i=$((i+1)); done",
)
SH_EXEC = ("./fidsh", "-c", "/bin/true a b; /bin/echo hi >/dev/null; ./fidprog 1")
W_PROG = '/comm == "fidprog"/'
W_SH = '/comm == "fidsh"/'
WRITE = "tracepoint:syscalls:sys_enter_write"
TIME = r"\d\d:\d\d:\d\d"
PIDS = r"(?<![\w.])\d{3,7}(?![\w.])"
HEX = r"0x[0-9a-f]+"

CASES: list[Case] = []


def case(name: str, script: str, *work: str, masks: tuple[str, ...] = (), **kw: object) -> None:
    CASES.append(Case(name, script, tuple(work), masks, **kw))  # type: ignore[arg-type]


def begin(name: str, body: str, **kw: object) -> None:
    """A BEGIN-only script that exits: no workload needed."""
    case(name, "BEGIN { " + body + " exit(); }", **kw)  # type: ignore[arg-type]


# -- printf and friends ------------------------------------------------------------------
begin("printf_hello", 'printf("hello\\n");')
begin("printf_split", 'printf("a"); printf("b\\n");')
begin("printf_no_newline", 'printf("no newline at the end");')
begin("printf_ints", 'printf("%d %u %x %X %o|\\n", 42, 42, 255, 255, 8);')
begin(
    "printf_widths",
    'printf("[%5d] [%-5d] [%05d] [%3s] [%-8s] [%8s]\\n", 7, 7, 7, "ab", "ab", "ab");',
)
begin("printf_negative", 'printf("%d %d %ld\\n", -1, -123456, -9000000000);')
begin("printf_percent", 'printf("100%% done %c\\n", 65);')
begin("printf_multiline", 'printf("one\\ntwo\\nthree\\n");')
begin(
    "printf_many_calls", 'printf("x"); printf("y"); printf("z"); printf("\\n"); printf("end\\n");'
)
begin("printf_blank_lines", 'printf("\\n\\nafter two blanks\\n\\n");')
begin("printf_escapes", 'printf("tab\\there \\"quoted\\" back\\\\slash\\n");')
begin(
    "printf_long_string",
    'printf("%s\\n", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789");',
)
begin("printf_u64", 'printf("%lu %llu\\n", 18446744073709551615, 1 << 40);')
begin("printf_hex_padding", 'printf("%08x %-8x|\\n", 3054, 3054);')
begin("print_int", "print(123);")
begin("print_string", 'print("a string");')
begin("print_tuple", 'print((1, "two", 3));')
begin("print_nested_tuple", 'print((1, (2, "x")));')
begin("printf_tuple_fields", '$t = (5, "five"); printf("%d %s\\n", $t.0, $t.1);')
begin("strftime", 'printf("%s\\n", strftime("%Y", nsecs));', masks=(r"\b\d{4}\b",))
begin("time_builtin", 'time("%H:%M:%S\\n");', masks=(TIME,))
begin("time_no_newline", 'time("at %H:%M "); printf("then\\n");', masks=(r"\d\d:\d\d",))
begin("cat_file", 'cat("./fidfile");')
begin("str_len", 'printf("%s|\\n", str("abcdef", 3));')
begin("printf_comm_begin", 'printf("%s\\n", comm);')
begin("sizeof_int", 'printf("%d\\n", sizeof(int));')
begin("ternary", '$x = 5; printf("%s\\n", $x > 3 ? "big" : "small");')
begin("if_else", '$x = 2; if ($x == 1) { printf("one\\n"); } else { printf("not one\\n"); }')
begin("unroll", '$i = 0; unroll(3) { printf("%d ", $i); $i++; } printf("\\n");')
begin("while_loop", '$i = 0; while ($i < 4) { printf("%d,", $i); $i++; } printf("\\n");')
begin("arith", 'printf("%d %d %d %d %d\\n", 7 / 2, 7 % 3, 1 << 4, 0xff & 0x0f, 5 ^ 3);')
begin("string_compare", 'printf("%d %d\\n", "abc" == "abc", "abc" == "abd");')
begin("positional", 'printf("%d %s\\n", $1, str($2));', args=("42", "word"))
begin("positional_count", 'printf("%d\\n", $#);', args=("a", "b", "c"))

# -- maps: scalars, keys, aggregations ---------------------------------------------------
begin("map_scalar", "@x = 1;")
begin("map_count", "@c = count(); @c = count();")
begin("map_string_value", '@s = "hello";')
begin("map_int_keys", "@m[1] = 10; @m[2] = 5; @m[3] = 20;")
begin("map_string_keys", '@m["b"] = 2; @m["a"] = 1; @m["c"] = 3;')
begin("map_multi_key", '@m[1, "x"] = 1; @m[2, "y"] = 2;')
begin("map_tuple_value", '@t = (1, "a"); @u[5] = (2, "bb", 3);')
begin("map_tuple_key", "@m[(1, 2)] = 3;")
begin("map_negative", "@n = -5; @m[-1] = -2;")
begin(
    "map_sum_min_max",
    "@s = sum(5); @s = sum(7); @mn = min(5); @mn = min(2); @mx = max(5); @mx = max(9);",
)
begin("map_avg", "@a = avg(10); @a = avg(21);")
begin("map_stats", "@s = stats(10); @s = stats(20); @s = stats(33);")
begin("map_stats_keyed", '@s["a"] = stats(1); @s["b"] = stats(100);')
begin("map_many_maps", "@a = 1; @b = 2; @c = count(); @d[1] = 4; @e = sum(3);")
begin("map_unnamed", "@ = 7;")
begin("map_sorting", "@m[10] = 3; @m[20] = 1; @m[30] = 2; @m[40] = 4;")
begin("map_string_values_keyed", '@m[1] = "one"; @m[2] = "two";')
begin("map_delete", "@m[1] = 1; @m[2] = 2; delete(@m[1]);")
begin("map_clear_all", "@m[1] = 1; clear(@m);")
begin("map_zero", "@c = count(); @c = count(); zero(@c);")
begin(
    "map_zero_keyed", "@m[1] = count(); @m[1] = count(); zero(@m); @n[2] = count();"
)  # one key each: zeroed keys tie, and bpftrace prints ties in hash order
begin("print_map", '@m[1] = 1; @m[2] = 2; print(@m); printf("after\\n");')
begin("print_map_top", "@m[1] = 5; @m[2] = 9; @m[3] = 1; print(@m, 2);")
begin("print_map_div", "@m[1] = 500; @m[2] = 900; print(@m, 0, 100);")
begin("print_then_clear", "@m[1] = 1; print(@m); clear(@m); @m[2] = 2; print(@m);")
begin("print_scalar_map", "@x = 3; print(@x); @x = 4;")
begin("print_count_map", "@c = count(); print(@c);")
begin("print_stats_map", "@s = stats(4); print(@s);")
begin("print_avg_map", "@a = avg(4); @a = avg(6); print(@a);")
begin("map_len_key_u64", "@m[18446744073709551615] = 1;")
begin("map_big_values", "@m[1] = 1000000000000; @m[2] = 5;")
begin("map_comm_key", "@m[comm] = count();")

# -- hist / lhist ----------------------------------------------------------------------
begin("hist_single", "@h = hist(5);")
begin("hist_many", "@h = hist(1); @h = hist(2); @h = hist(3); @h = hist(100); @h = hist(1000);")
begin("hist_zero", "@h = hist(0); @h = hist(0); @h = hist(1);")
begin("hist_negative", "@h = hist(-1); @h = hist(4);")
begin("hist_large", "@h = hist(1 << 20); @h = hist(1 << 30); @h = hist(1 << 40);")
begin("hist_keyed", '@h["a"] = hist(2); @h["b"] = hist(64);')
begin("lhist_basic", "@l = lhist(5, 0, 100, 10); @l = lhist(55, 0, 100, 10);")
begin("lhist_width_one", "@l = lhist(5, 0, 10, 1); @l = lhist(7, 0, 10, 1);")
begin("lhist_out_of_range", "@l = lhist(-5, 0, 100, 10); @l = lhist(500, 0, 100, 10);")
begin("lhist_keyed", "@l[1] = lhist(3, 0, 10, 2); @l[2] = lhist(8, 0, 10, 2);")
begin("print_hist", '@h = hist(8); print(@h); printf("after\\n");')
begin("hist_then_scalar", "@h = hist(3); @z = 1;")
begin("hist_clear", "@h = hist(3); clear(@h); @h = hist(40);")

# -- syscalls of a workload -------------------------------------------------------------
case("write_sizes_hist", f"{WRITE} {W_SH} {{ @ = hist(args->count); }}", *SH_LOOP)
case("write_count", f"{WRITE} {W_SH} {{ @writes = count(); }}", *SH_LOOP)
case("write_by_comm", f"{WRITE} {W_SH} {{ @[comm] = count(); }}", *SH_LOOP)
case("write_by_size", f"{WRITE} {W_SH} {{ @[args->count] = count(); }}", *SH_LOOP)
case(
    "write_sum_avg", f"{WRITE} {W_SH} {{ @s = sum(args->count); @a = avg(args->count); }}", *SH_LOOP
)
case("write_stats", f"{WRITE} {W_SH} {{ @ = stats(args->count); }}", *SH_LOOP)
case("write_lhist", f"{WRITE} {W_SH} {{ @ = lhist(args->count, 0, 20, 2); }}", *SH_LOOP)
case(
    "write_printf",
    f'{WRITE} {W_SH} {{ printf("%s fd=%d n=%d\\n", comm, args->fd, args->count); }}',
    *SH_LOOP,
)
case(
    "write_printf_pieces",
    f'{WRITE} {W_SH} {{ printf("%s ", comm); printf("%d", args->count); printf("\\n"); }}',
    *SH_LOOP,
)
case("write_multi_key", f"{WRITE} {W_SH} {{ @[comm, args->fd, args->count] = count(); }}", *SH_LOOP)
case("write_buf", f'{WRITE} {W_SH} {{ printf("%s\\n", str(args->buf, args->count)); }}', *SH_LOOP)
case("write_tuple_map", f"{WRITE} {W_SH} {{ @[args->count] = (comm, args->fd); }}", *SH_LOOP)
case("prog_write_hist", f"{WRITE} {W_PROG} {{ @ = hist(args->count); }}", *PROG)
case("prog_write_lhist", f"{WRITE} {W_PROG} {{ @ = lhist(args->count, 0, 500, 100); }}", *PROG)
case(
    "prog_getppid_count",
    f"tracepoint:syscalls:sys_enter_getppid {W_PROG} {{ @ = count(); }}",
    *PROG,
)
case(
    "raw_syscalls_prog",
    'tracepoint:raw_syscalls:sys_enter /comm == "fidprog" && (args->id == 1 || args->id == 39 || args->id == 110)/ { @[args->id] = count(); }',
    *PROG,
)
case(
    "syscall_pair",
    f"tracepoint:syscalls:sys_enter_write {W_PROG} {{ @start[tid] = 1; }} tracepoint:syscalls:sys_exit_write {W_PROG} /@start[tid]/ {{ @ret[args->ret] = count(); delete(@start[tid]); }}",
    *PROG,
)
case(
    "openat_filenames",
    f'tracepoint:syscalls:sys_enter_openat {W_PROG} {{ printf("%s\\n", str(args->filename)); }}',
    *PROG,
)
case(
    "kill_args",
    f'tracepoint:syscalls:sys_enter_kill {W_PROG} {{ printf("sig %d\\n", args->sig); }}',
    *PROG,
)
case(
    "exit_on_event",
    f'tracepoint:syscalls:sys_enter_getppid {W_PROG} {{ printf("got it\\n"); exit(); }}',
    *PROG,
)
case(
    "begin_end",
    f'BEGIN {{ printf("start\\n"); }} tracepoint:syscalls:sys_enter_getppid {W_PROG} {{ @n = count(); }} END {{ printf("end %d\\n", (uint64)@n); clear(@n); }}',
    *PROG,
)
case("predicate_and", f'{WRITE} /comm == "fidsh" && args->count > 9/ {{ @ = count(); }}', *SH_LOOP)
case("interval_exit", "interval:ms:200 { @n = count(); if ((uint64)@n == 2) { exit(); } }")
case(
    "interval_print_clear",
    "BEGIN { @m[1] = 2; } interval:ms:100 { print(@m); clear(@m); @i = count(); if ((uint64)@i >= 2) { exit(); } }",
)
case("interval_printf", 'interval:ms:100 { printf("tick\\n"); exit(); }')
case(
    "profile_comm",
    'profile:hz:49 /comm == "fidnever"/ { @ = count(); } interval:ms:300 { exit(); }',
)

# -- classic tools (tracepoints / uprobes), shortened to the workload -------------------------
case(
    "execsnoop",
    'BEGIN { printf("%-10s %-5s %s\\n", "TIME(ms)", "PID", "ARGS"); } '
    'tracepoint:syscalls:sys_enter_execve /comm == "fidsh"/ { printf("%-10u %-5d ", elapsed / 1e6, pid); join(args->argv); }',
    *SH_EXEC,
    masks=(r"(?m)^\d+ +\d+ ",),
)
case(
    "killsnoop",
    'BEGIN { printf("%-9s %-6s %-16s %-4s %-6s %s\\n", "TIME", "PID", "COMM", "SIG", "TPID", "RESULT"); } '
    'tracepoint:syscalls:sys_enter_kill /comm == "fidprog"/ { @tpid[tid] = args->pid; @tsig[tid] = args->sig; } '
    'tracepoint:syscalls:sys_exit_kill /@tpid[tid]/ { time("%H:%M:%S  "); printf("%-6d %-16s %-4d %-6d %d\\n", pid, comm, @tsig[tid], @tpid[tid], args->ret); delete(@tpid[tid]); delete(@tsig[tid]); }',
    *PROG,
    masks=(TIME, PIDS),
)
case(
    "syncsnoop",
    'BEGIN { printf("Tracing sync syscalls... Hit Ctrl-C to end.\\n"); printf("%-9s %-6s %-16s %s\\n", "TIME", "PID", "COMM", "EVENT"); } '
    'tracepoint:syscalls:sys_enter_sync /comm == "fidprog"/ { time("%H:%M:%S  "); printf("%-6d %-16s %s\\n", pid, comm, probe); }',
    *PROG,
    masks=(TIME, PIDS),
)
case(
    "naptime",
    'BEGIN { printf("%-8s %-6s %-16s %-6s %-16s %s\\n", "TIME", "PPID", "PCOMM", "PID", "COMM", "SECONDS"); } '
    'tracepoint:syscalls:sys_enter_nanosleep /comm == "fidprog"/ { $task = (struct task_struct *)curtask; time("%H:%M:%S "); '
    'printf("%-6d %-16s %-6d %-16s %d.%03d\\n", $task->real_parent->pid, $task->real_parent->comm, pid, comm, args->rqtp->tv_sec, args->rqtp->tv_nsec / 1000000); }',
    *PROG,
    masks=(TIME, PIDS, r"python3"),
)
case(
    "pidpersec",
    'tracepoint:sched:sched_process_fork /comm == "fidsh"/ { @ = count(); } interval:s:1 { time("%H:%M:%S PIDs/sec: "); print(@); clear(@); exit(); }',
    *SH_EXEC,
    masks=(TIME,),
)
case(
    "setuids_like",
    'tracepoint:syscalls:sys_enter_getppid /comm == "fidprog"/ { time("%H:%M:%S "); printf("%-6d %-16s %-6d ", pid, comm, uid); printf("getppid\\n"); }',
    *PROG,
    masks=(TIME, PIDS),
)
case(
    "gethostlatency",
    'BEGIN { printf("%-9s %-6s %-16s %6s %s\\n", "TIME", "PID", "COMM", "LATms", "HOST"); } '
    'uprobe:/lib/x86_64-linux-gnu/libc.so.6:getaddrinfo /comm == "fidprog"/ { @start[tid] = nsecs; @name[tid] = arg0; } '
    'uretprobe:/lib/x86_64-linux-gnu/libc.so.6:getaddrinfo /@start[tid]/ { $latms = (nsecs - @start[tid]) / 1e6; time("%H:%M:%S  "); '
    'printf("%-6d %-16s %6d %s\\n", pid, comm, $latms, str(@name[tid])); delete(@start[tid]); delete(@name[tid]); }',
    *PROG,
    masks=(TIME, PIDS, r"(?<=fidprog) +\d+"),
)
case(
    "threadsnoop",
    'uprobe:/lib/x86_64-linux-gnu/libc.so.6:pthread_create /comm == "fidprog"/ { printf("%-16s %s\\n", comm, "pthread_create"); }',
    *PROG,
)
case(
    "syscount_prog",
    f'tracepoint:raw_syscalls:sys_enter {W_PROG} {{ @syscall[args->id] = count(); @process[comm] = count(); }} END {{ printf("\\nTop syscalls:\\n"); print(@syscall, 2); clear(@syscall); }}',
    *PROG,
)
case("writesize_by_comm", f"{WRITE} {W_SH} {{ @[comm] = hist(args->count); }}", *SH_LOOP)
case(
    "sched_fork",
    'tracepoint:sched:sched_process_fork /comm == "fidsh"/ { printf("fork %s\\n", args->parent_comm); }',
    *SH_EXEC,
)
case(
    "sched_exec",
    'tracepoint:sched:sched_process_exec /comm == "true" || comm == "echo"/ { printf("exec %s\\n", str(args->filename)); }',
    *SH_EXEC,
)
case(
    "exit_codes",
    'tracepoint:sched:sched_process_exit /comm == "fidprog"/ { @[comm] = count(); }',
    *SH_EXEC,
)

# -- uprobes on the workload's own functions (relative and absolute paths) ------------------
case("uprobe_rel_args", 'uprobe:./fidprog:fid_add { printf("add %d %d\\n", arg0, arg1); }', *PROG)
case("uretprobe_rel", "uretprobe:./fidprog:fid_add { @[retval] = count(); }", *PROG)
case(
    "uprobe_fact_count",
    "uprobe:./fidprog:fid_fact { @calls = count(); @arg = lhist(arg0, 0, 10, 1); }",
    *PROG,
)
case("uprobe_str_arg", "uprobe:./fidprog:fid_greet { @[str(arg0)] = count(); }", "./fidprog", "6")
case("uprobe_big", 'uprobe:./fidprog:fid_big { printf("%lu\\n", arg0); }', *PROG)
case("uretprobe_neg", 'uretprobe:./fidprog:fid_neg { printf("%d\\n", (int32)retval); }', *PROG)
case(
    "uprobe_func_builtin",
    "uprobe:./fidprog:fid_add, uprobe:./fidprog:fid_neg { @[func] = count(); }",
    *PROG,
)
case("uprobe_wildcard", "uprobe:./fidprog:fid_* { @[probe] = count(); }", *PROG)
case(
    "uprobe_latency",
    "uprobe:./fidprog:fid_fact { @s[tid] = 1; } uretprobe:./fidprog:fid_fact /@s[tid]/ { @ret = hist(retval); }",
    *PROG,
    masks=(r"@s\[\d+\]",),
)
case("uprobe_abs_cwd", 'uprobe:./fidprog:fid_add /arg0 == 3/ { printf("three\\n"); }', *PROG)
case(
    "uprobe_libc_getppid",
    'uprobe:/lib/x86_64-linux-gnu/libc.so.6:getppid /comm == "fidprog"/ { @ = count(); }',
    *PROG,
)

# -- options --------------------------------------------------------------------------
JSON = ("-f", "json")
begin("json_printf", 'printf("a"); printf("b\\n"); printf("%d\\n", 5);', opts=JSON)
begin("json_maps", '@c = count(); @m[1, "x"] = 2; @t = (1, "a"); @s = "str";', opts=JSON)
begin(
    "json_hist_stats",
    "@h = hist(5); @l = lhist(5, 0, 10, 1); @s = stats(3); @a = avg(4);",
    opts=JSON,
)
begin("json_print_map", "@m[1] = 1; print(@m); clear(@m);", opts=JSON)
case("json_workload", f"{WRITE} {W_SH} {{ @[args->count] = count(); }}", *SH_LOOP, opts=JSON)
case("cmd_option", "uprobe:./fidprog:fid_add { @[arg0] = count(); }", opts=("-c", "./fidprog 3"))
case(
    "cmd_cpid",
    "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @ = count(); }",
    opts=("-c", "./fidprog 2"),
)
begin("helper_errors_flag", 'printf("k\\n");', opts=("-k",))

# -- errors ----------------------------------------------------------------------------
case("err_syntax", 'BEGIN { printf("x" }', error=True)
case("err_unknown_function", "BEGIN { @x = nosuch(1); }", error=True)
case("err_unknown_tracepoint", "tracepoint:syscalls:sys_enter_nosuch { @ = count(); }", error=True)
case("err_type_mismatch", 'BEGIN { $x = 1; $x = "a"; }', error=True)
case("err_printf_args", 'BEGIN { printf("%d %d\\n", 1); }', error=True)
case("err_key_types", 'BEGIN { @x[1] = 1; @x["a"] = 2; }', error=True)
case("err_missing_binary", "uprobe:./nosuchbinary:f { @ = count(); }", error=True)
case("err_missing_function", "uprobe:./fidprog:no_such_function { @ = count(); }", error=True)
case("err_unsafe", 'BEGIN { system("echo hi"); }', error=True)
case(
    "err_position_late", f'BEGIN {{ printf("a\\n"); }} {WRITE} {W_SH} {{ @x = foo(); }}', error=True
)
case("err_eof", "BEGIN { exit() ", error=True)
case("err_kprobe", "kprobe:do_nanosleep { @ = count(); }", error=True)
case("err_hardware", "hardware:cache-misses:1000000 { @ = count(); }", error=True)
case("err_undefined_var", 'BEGIN { printf("%d\\n", $undefined); }', error=True)

# -- more: printf formats, builtins, map functions, tools, errors (grown to 180+) ----------
begin("printf_char_codes", 'printf("%c%c%c|\\n", 72, 105, 33);')
begin("printf_width_star_free", 'printf("[%-10s][%10s]\\n", "left", "right");')
begin("printf_zero_pad_neg", 'printf("%05d %-5d|\\n", -42, -42);')
begin("printf_hex_upper_width", 'printf("%#x %#X %#o\\n", 255, 255, 8);')
begin("printf_many_args", 'printf("%d %d %d %d %d %d %d\\n", 1, 2, 3, 4, 5, 6, 7);')
begin("printf_string_precision", 'printf("%.3s|\\n", "abcdef");')
begin("print_negative_tuple", "print((-1, -2));")
begin("print_bool_expr", "print(3 > 2);")
begin("str_truncate_zero", 'printf("[%s]\\n", str("hello", 1));')
begin("bitwise_ops", 'printf("%d %d %d %d\\n", 6 & 3, 6 | 3, 6 ^ 3, ~0 & 0xf);')
begin("compare_ops", 'printf("%d %d %d %d\\n", 1 < 2, 2 <= 2, 3 > 4, 5 != 5);')
begin("logical_ops", 'printf("%d %d %d\\n", 1 && 0, 1 || 0, !0);')
begin("var_reassign", '$a = 1; $a += 4; $a *= 3; $a -= 1; printf("%d\\n", $a);')
begin("map_increment", "@x++; @x++; @x += 5; @y--;")
begin("map_avg_keyed", '@a["x"] = avg(1); @a["x"] = avg(5); @a["y"] = avg(100);')
begin("map_min_max_keyed", "@mn[1] = min(9); @mn[1] = min(3); @mx[1] = max(3); @mx[1] = max(9);")
begin(
    "map_count_keyed_many",
    "@c[1] = count(); @c[2] = count(); @c[2] = count(); @c[3] = count(); @c[3] = count(); @c[3] = count();",
)
begin("map_string_key_sorted_values", '@m["x"] = 30; @m["y"] = 10; @m["z"] = 20;')
begin("map_tuple_multi", '@t[1] = (1, "a"); @t[2] = (2, "b");')
begin("print_map_top_keyed_strings", '@m["a"] = 1; @m["b"] = 5; @m["c"] = 3; print(@m, 1);')
begin(
    "lhist_step_five",
    "@l = lhist(12, 0, 50, 5); @l = lhist(13, 0, 50, 5); @l = lhist(47, 0, 50, 5);",
)
begin(
    "hist_powers",
    "@h = hist(1); @h = hist(2); @h = hist(4); @h = hist(8); @h = hist(16); @h = hist(32);",
)
begin("hist_and_count_same_script", "@h = hist(7); @c = count(); @s = sum(7);")
begin("stats_negative", "@s = stats(-5); @s = stats(15);")
begin("delete_all_keys", "@m[1] = 1; @m[2] = 2; delete(@m[1]); delete(@m[2]);")
begin(
    "if_nested",
    '$x = 5; if ($x > 1) { if ($x > 4) { printf("big\\n"); } else { printf("mid\\n"); } }',
)
case(
    "interval_counter", "interval:ms:100 { @ticks = count(); if ((uint64)@ticks == 3) { exit(); } }"
)
case(
    "end_printf_maps",
    f'{WRITE} {W_SH} {{ @[comm] = count(); }} END {{ printf("Summary:\\n"); }}',
    *SH_LOOP,
)
case(
    "end_clear_only",
    f"{WRITE} {W_SH} {{ @n = count(); @m[args->fd] = count(); }} END {{ clear(@m); }}",
    *SH_LOOP,
)
case(
    "nanosleep_lhist",
    'tracepoint:syscalls:sys_enter_nanosleep /comm == "fidprog"/ { @ms = lhist(args->rqtp->tv_nsec / 1000000, 0, 10, 1); }',
    *PROG,
)
case(
    "getppid_by_tid_count",
    'tracepoint:syscalls:sys_exit_getppid /comm == "fidprog"/ { @ret = count(); @ok[args->ret > 0] = count(); }',
    *PROG,
)
case(
    "write_ret_errors",
    f"tracepoint:syscalls:sys_exit_write {W_PROG} {{ @[args->ret] = count(); }}",
    *PROG,
)
case(
    "uprobe_args_hist",
    "uprobe:./fidprog:fid_add { @a = hist(arg1); @b = lhist(arg0, 0, 5, 1); }",
    *PROG,
)
case(
    "uretprobe_fact_values",
    "uretprobe:./fidprog:fid_fact { @[retval] = count(); }",
    *PROG,
)
case(
    "uprobe_greet_printf",
    'uprobe:./fidprog:fid_greet { printf("greet %s\\n", str(arg0)); }',
    "./fidprog",
    "4",
)
case(
    "uprobe_big_hex",
    'uprobe:./fidprog:fid_big { printf("%lx\\n", arg0); }',
    *PROG,
)
case(
    "sched_process_exit_codes",
    # values told apart (true 1, echo 2): bpftrace prints equal values in no fixed order
    'tracepoint:sched:sched_process_exit /comm == "true" || comm == "echo"/ '
    '{ @[comm] = sum(comm == "true" ? 1 : 2); }',
    *SH_EXEC,
)
case("err_bad_map_usage", "BEGIN { @x = count(); @x = 1; }", error=True)
case("err_unknown_builtin_var", 'BEGIN { printf("%d\\n", nosuchvar); }', error=True)
case("err_wrong_probe_type", "nosuchtype:foo { @ = count(); }", error=True)
case("err_lhist_args", "BEGIN { @l = lhist(1, 0, 10); }", error=True)

# -- the holdout: scripts written after the work above, measured separately (--holdout) ----
HOLDOUT: list[Case] = []


def holdout(name: str, script: str, *work: str, masks: tuple[str, ...] = (), **kw: object) -> None:
    HOLDOUT.append(Case(name, script, tuple(work), masks, **kw))  # type: ignore[arg-type]


def hbegin(name: str, body: str, **kw: object) -> None:
    holdout(name, "BEGIN { " + body + " exit(); }", **kw)  # type: ignore[arg-type]


hbegin("h_printf_table", 'printf("%-6s|%6s|\\n", "name", "value"); printf("%-6s|%6d|\\n", "a", 1);')
hbegin("h_map_mixed", '@count = count(); @names["k"] = 3; @h = hist(100); @l = lhist(3, 0, 6, 2);')
hbegin("h_tuple_nested_map", '@t["k"] = (1, (2, "s"));')
hbegin("h_print_after_clear", "@m[1] = 1; clear(@m); print(@m); @m[2] = 2;")
hbegin("h_loop_sum", '$s = 0; $i = 1; while ($i <= 10) { $s += $i; $i++; } printf("%d\\n", $s);')
hbegin("h_zero_then_add", "@c = count(); zero(@c); @c = count();")
hbegin("h_stats_avg_print", "@s = stats(2); @a = avg(7); print(@s); print(@a);")
holdout("h_write_hist_by_fd", f"{WRITE} {W_SH} {{ @[args->fd] = hist(args->count); }}", *SH_LOOP)
holdout(
    "h_uprobe_pair_latency_count",
    "uprobe:./fidprog:fid_neg { @in = count(); } uretprobe:./fidprog:fid_neg { @out = count(); }",
    *PROG,
)
holdout(
    "h_exec_args",
    'tracepoint:syscalls:sys_enter_execve /comm == "fidsh"/ { printf("%s\\n", str(args->filename)); }',
    *SH_EXEC,
)
holdout(
    "h_interval_two_prints",
    "BEGIN { @a = 1; } interval:ms:100 { print(@a); @a++; @n = count(); if ((uint64)@n == 2) { exit(); } }",
)
holdout(
    "h_end_summary",
    f'{WRITE} {W_SH} {{ @bytes = sum(args->count); }} END {{ printf("bytes: %d\\n", (uint64)@bytes); clear(@bytes); }}',
    *SH_LOOP,
)
holdout("h_err_missing_semicolon", "BEGIN { $x = 1 $y = 2; }", error=True)
holdout("h_err_undefined_map_read", 'BEGIN { printf("%d\\n", @nosuch); }', error=True)
holdout("h_json_stats", "BEGIN { @s = stats(4); @c[1] = count(); exit(); }", opts=("-f", "json"))

# -- the second holdout (--holdout 2): 50 scripts of the kinds users write, written after --
# -- all the work above and measured apart; workloads: ./holdprog (bpftrace_corpus/holdprog.c) --
HOLDOUT2: list[Case] = []
HOLD = ("./holdprog", "4")
W_HOLD = '/comm == "holdprog"/'


def h2(name: str, script: str, *work: str, masks: tuple[str, ...] = (), **kw: object) -> None:
    HOLDOUT2.append(Case(name, script, tuple(work), masks, **kw))  # type: ignore[arg-type]


def h2begin(name: str, body: str, **kw: object) -> None:
    h2(name, "BEGIN { " + body + " exit(); }", **kw)  # type: ignore[arg-type]


# printf: every specifier bpftrace 0.17 takes, widths, flags, precision, length modifiers
h2begin(
    "h2_printf_specifiers",
    'printf("%d|%u|%x|%X|%o|%c|%s|%p\\n", -7, 9, 255, 255, 9, 66, "s", 4096);',
)
h2begin(
    "h2_printf_int_flags",
    'printf("[%-6d] [%06d] [%#x] [%#o] [%6x] [%-6X|]\\n", 5, 5, 255, 9, 255, 255);',
)
h2begin(
    "h2_printf_precision",
    'printf("[%.5d] [%8.3d] [%.2s] [%-8.2s] [%10.4s]\\n", 42, 7, "abcdef", "abcdef", "abcdef");',
)
h2begin(
    "h2_printf_lengths",
    'printf("%hd %hhd %ld %lld %lx %llX %hu %hhu\\n", 70000, 300, -5, -6, 4096, 4096, 70000, 300);',
)
h2begin("h2_printf_char_width", 'printf("%5c|%-3c|\\n", 65, 66);')
h2begin(
    "h2_printf_minus_one",
    'printf("%llu\\n", -1); printf("%x\\n", -1); printf("%u\\n", -1); printf("%ld\\n", -1);',
)
h2begin("h2_printf_str_width", 'printf("%-20s|%20s|%s\\n", "left", "right", "");')
h2begin("h2_printf_buf", 'printf("%r|\\n", buf("ab\\x01c", 4));')
h2("h2_err_printf_i", 'BEGIN { printf("%i\\n", 1); }', error=True)
h2("h2_err_printf_plus", 'BEGIN { printf("%+d\\n", 1); }', error=True)
# builtins and expressions
h2begin(
    "h2_strncmp",
    'printf("%d %d %d\\n", strncmp("abcd", "abxy", 2), strncmp("abcd", "abxy", 3), strncmp("a", "a", 5));',
)
h2begin(
    "h2_strcontains", 'printf("%d %d\\n", strcontains("abcd", "bc"), strcontains("abcd", "x"));'
)
h2begin("h2_while_break", '$i = 0; while (1) { $i++; if ($i > 3) { break; } } printf("%d\\n", $i);')
h2begin("h2_unroll_map", "$i = 1; unroll(4) { @u[$i] = $i * $i; $i++; }")
h2begin("h2_ternary_nested", '$c = 0; printf("%s\\n", $c ? "yes" : ($c == 0 ? "zero" : "no"));')
h2begin(
    "h2_casts",
    '$x = (int8)-1; $y = (uint8)255; $z = (uint16)70000; printf("%d %d %d\\n", $x, $y, $z);',
)
h2begin("h2_signed_division", 'printf("%d %d\\n", 10 / 3 * 3 + 10 % 3, -7 / 2);')
h2begin("h2_builtins_begin", 'printf("%s %d %d %d %d\\n", probe, uid, gid, numaid, pid == tid);')
h2begin("h2_ksym_zero", 'printf("[%s]\\n", ksym(0));')
h2begin("h2_positional", 'printf("%d %d %s|\\n", $1 + $2, $#, str($3));', args=("3", "4", "w"))
h2begin("h2_positional_missing", 'printf("%s|%s|\\n", $1 == 3 ? "three" : "other", str($2));')
# maps: keys, aggregations, print, clear/zero/delete, hist/lhist edges
h2begin("h2_map_three_keys", '@m[1, "a", 2] = 3; @m[2, "b", 1] = 4; @m[0, "", 0] = 5;')
h2begin(
    "h2_aggr_negative", "@a = avg(-4); @a = avg(2); @mn = min(-3); @mx = max(-3); @s = sum(-2);"
)
h2begin(
    "h2_aggr_keyed",
    '@c["x"] = count(); @c["y"] = count(); @c["y"] = count(); @s["x"] = sum(3); @s["y"] = sum(40); @a[1] = avg(10); @a[2] = avg(30); @mn[1] = min(4); @mx[1] = max(4);',
)
h2begin("h2_stats_zero_print", "@s = stats(1); @s = stats(2); print(@s); zero(@s); print(@s);")
h2begin(
    "h2_hist_edges",
    "@h = hist(0); @h = hist(1); @h = hist(2); @h = hist(3); @h = hist(4); @h = hist(1023); @h = hist(1024); @h = hist(-1);",
)
h2begin("h2_hist_big", "@h = hist(1 << 50); @h = hist((1 << 60) + 5); @h = hist(1 << 10 << 10);")
h2begin(
    "h2_lhist_edges",
    "@l = lhist(0, 0, 100, 10); @l = lhist(9, 0, 100, 10); @l = lhist(10, 0, 100, 10); @l = lhist(99, 0, 100, 10); @l = lhist(100, 0, 100, 10); @l = lhist(-1, 0, 100, 10);",
)
h2begin(
    "h2_lhist_uneven",
    "@l = lhist(7, 0, 25, 10); @l = lhist(24, 0, 25, 10); @l = lhist(25, 0, 25, 10);",
)
h2("h2_err_lhist_negative_min", "BEGIN { @l = lhist(3, -10, 10, 5); }", error=True)
h2begin("h2_print_tuple_mixed", 'print(("a", 1, -1, "b")); print((1, 2));')
h2begin(
    "h2_map_tuple_values_print", '@m["x"] = (1, "one"); @m["y"] = (2, "two"); print(@m); clear(@m);'
)
h2begin(
    "h2_hist_keyed_delete",
    '@h["a"] = hist(5); @h["b"] = hist(500); print(@h); delete(@h["a"]); print(@h);',
)
h2begin("h2_print_top_unnamed", "@[1] = 1; @[2] = 2; @[3] = 3; print(@, 2);")
h2begin("h2_map_then_printf", '@x = 5; printf("%d %s\\n", @x, "done");')
h2("h2_err_undefined_map_print", "BEGIN { print(@nosuch); }", error=True)
h2("h2_err_aggr_mismatch", "BEGIN { @c[1] = count(); @c[2] = sum(5); }", error=True)
h2begin(
    "h2_json_hist_lhist",
    "@h = hist(3); @h = hist(300); @l[1] = lhist(3, 0, 10, 5);",
    opts=("-f", "json"),
)
h2begin(
    "h2_json_printf_tuple",
    'printf("%s %d\\n", "x", 1); print((1, "t")); @m[1, 2] = 3;',
    opts=("-f", "json"),
)
# probes on a workload: uprobes/uretprobes, stacks, tracepoint args, builtins, intervals
h2(
    "h2_uprobe_str_len",
    'uprobe:./holdprog:hold_name { printf("%-20s %d\\n", str(arg0), arg1); }',
    *HOLD,
)
h2("h2_uprobe_str_n", "uprobe:./holdprog:hold_name { @[str(arg0, 4)] = count(); }", *HOLD)
h2("h2_uprobe_buf", 'uprobe:./holdprog:hold_name { printf("%r\\n", buf(arg0, 5)); }', *HOLD)
h2("h2_uretprobe_str", "uretprobe:./holdprog:hold_label { @[str(retval)] = count(); }", *HOLD)
h2(
    "h2_uprobe_struct_ptr",
    'uprobe:./holdprog:hold_pair_sum { printf("%d %d\\n", *(int32 *)arg0, *(int64 *)(arg0 + 8)); }',
    *HOLD,
)
h2("h2_uretprobe_lhist", "uretprobe:./holdprog:hold_top { @r = lhist(retval, 0, 16, 4); }", *HOLD)
h2(
    "h2_uprobe_byte_ret",
    'uretprobe:./holdprog:hold_byte { printf("%u %x\\n", (uint8)retval, (uint8)retval); }',
    *HOLD,
)
h2("h2_ustack_leaf", "uprobe:./holdprog:hold_leaf { @[ustack(3)] = count(); }", *HOLD)
h2(  # usym of a map key resolves at exit, when the process is gone: a raw address
    "h2_usym_func",
    'uprobe:./holdprog:hold_* { @[usym(reg("ip")), func] = count(); }',
    *HOLD,
    masks=(HEX,),
)
h2(
    "h2_uprobe_strncmp",
    'uprobe:./holdprog:hold_name /strncmp(str(arg0), "delta", 5) == 0/ { printf("match %s\\n", str(arg0)); }',
    *HOLD,
)
h2(
    "h2_uprobe_strcontains",
    'uprobe:./holdprog:hold_name { @[strcontains(str(arg0), "ta")] = count(); }',
    *HOLD,
)
h2(
    "h2_uprobe_exit_after",
    'uprobe:./holdprog:hold_leaf { @n = count(); if ((uint64)@n == 2) { printf("two\\n"); exit(); } }',
    *HOLD,
)
h2(
    "h2_tp_read_lhist",
    f"tracepoint:syscalls:sys_enter_read {W_HOLD} {{ @ = lhist(args->count, 0, 80, 8); }}",
    *HOLD,
)
h2(
    "h2_tp_openat_flags",
    f'tracepoint:syscalls:sys_enter_openat {W_HOLD} /strncmp(str(args->filename), "/dev/", 5) == 0/ {{ printf("%s %x\\n", str(args->filename), args->flags); }}',
    *HOLD,
)
h2(
    "h2_tp_access_ret",
    f"tracepoint:syscalls:sys_exit_access {W_HOLD} {{ @[args->ret] = count(); }}",
    *HOLD,
)
h2(
    "h2_tp_nanosleep_us",
    f"tracepoint:syscalls:sys_enter_nanosleep {W_HOLD} {{ @us = hist(args->rqtp->tv_nsec / 1000); }}",
    *HOLD,
)
h2(
    "h2_tp_signal_generate",
    'tracepoint:signal:signal_generate /comm == "holdprog"/ { printf("sig=%d errno=%d code=%d res=%d\\n", args->sig, args->errno, args->code, args->result); }',
    *HOLD,
)
h2(
    "h2_tp_exec_filename",
    'tracepoint:sched:sched_process_exec /comm == "holdprog"/ { printf("%s\\n", str(args->filename)); }',
    *HOLD,
)
h2(
    "h2_tp_exit_comm_tuple",
    'tracepoint:sched:sched_process_exit /comm == "holdprog"/ { @[comm, pid == tid] = count(); }',
    *HOLD,
)
h2(
    "h2_cgroup_same",
    'tracepoint:syscalls:sys_enter_access /comm == "holdprog"/ { @c[cgroup == @first[1] || @first[1] == 0] = count(); @first[1] = cgroup; } END { clear(@first); }',
    *HOLD,
)
h2(
    "h2_if_else_workload",
    f"tracepoint:syscalls:sys_enter_write {W_HOLD} {{ if (args->count > 5) {{ @big = count(); }} else if (args->count == 5) {{ @five = count(); }} else {{ @small = count(); }} }}",
    *HOLD,
)
h2(
    "h2_pid_tid_comm",
    f'tracepoint:syscalls:sys_enter_access {W_HOLD} {{ printf("%s %d %d\\n", comm, pid, tid); }}',
    *HOLD,
    masks=(PIDS,),
)
h2(
    "h2_nsecs_elapsed",
    f'tracepoint:syscalls:sys_enter_access {W_HOLD} {{ printf("%d %d %d\\n", nsecs, elapsed, nsecs > elapsed); }}',
    *HOLD,
    masks=(r"(?m)^-?\d+ -?\d+ ",),  # %d of a u64 is its low 32 bits, signed
)
h2(
    "h2_kstack_depth",
    f"tracepoint:syscalls:sys_enter_access {W_HOLD} {{ @[kstack(1)] = count(); }}",
    *HOLD,
    masks=(r"\+\d+",),
)
h2(
    "h2_interval_end",
    f'{WRITE} {W_HOLD} {{ @w = count(); }} interval:ms:150 {{ @ticks = count(); }} END {{ printf("ticks>0 %d\\n", (uint64)@ticks > 0); clear(@ticks); }}',
    *HOLD,
)
h2(
    "h2_begin_end_order",
    f'BEGIN {{ @z = 1; @a = 2; @m["k"] = 3; }} {WRITE} {W_HOLD} {{ @b[args->count] = count(); }} END {{ printf("end\\n"); }}',
    *HOLD,
)
h2(
    "h2_delete_pairs",
    f"tracepoint:syscalls:sys_enter_openat {W_HOLD} {{ @open[tid] = 1; }} tracepoint:syscalls:sys_exit_openat /@open[tid]/ {{ @fd[args->ret >= 0] = count(); delete(@open[tid]); }}",
    *HOLD,
)
h2(
    "h2_clear_in_probe",
    f'{WRITE} {W_HOLD} {{ @s[args->count] = count(); }} tracepoint:signal:signal_generate /comm == "holdprog"/ {{ print(@s); clear(@s); @after = 1; }}',
    *HOLD,
)
h2(
    "h2_cmd_uprobe",
    "uprobe:./holdprog:hold_mid { @[arg0] = count(); }",
    opts=("-c", "./holdprog 3"),
)
h2("h2_err_bad_positional", 'BEGIN { printf("%d\\n", $1); }', args=("notanumber",), error=True)
h2("h2_err_missing_uprobe", "uretprobe:./holdprog:hold_nothing { @ = count(); }", error=True)
# written scripts as users keep them in files: several lines, comments, includes, struct
# definitions, strings with braces, errors on later lines, long outputs
h2(
    "h2_multiline_comments",
    "/* count writes */\n// by size\n"
    f"{WRITE}\n{W_HOLD}\n{{\n  // the size\n  @[args->count] = sum(args->count); /* sum */\n}}\n",
    *HOLD,
)
h2(
    "h2_include_struct",
    "#include <linux/types.h>\nstruct hp { int a; long b; };\n"
    'uprobe:./holdprog:hold_pair_sum { $p = (struct hp *)arg0; printf("%d %d\\n", $p->a, $p->b); }',
    *HOLD,
)
h2(
    "h2_braces_in_strings",
    f'{WRITE} {W_HOLD} {{ printf("{{%d}} }} {{\\n", args->count); }} END {{ printf("}}\\n"); }}',
    *HOLD,
)
h2(
    "h2_err_later_line",
    f"BEGIN {{ @x = 1; }}\n{WRITE} {W_HOLD}\n{{\n  @y = count();\n  @z = nosuch(args->count);\n}}\n",
    error=True,
)
h2(
    "h2_err_first_statement_guarded",
    f'{WRITE} {W_HOLD} {{ $x = 1; $x = "s"; }}',
    error=True,
)
h2("h2_err_semantic_predicate", f"{WRITE} /args->nosuch == 1/ {{ @ = count(); }}", error=True)
h2begin("h2_at_lines_printed", 'printf("@x: 1\\n@y[1]: 2\\n"); @real = 3;')
h2begin("h2_long_output", '$i = 0; while ($i < 300) { printf("line %d of many\\n", $i); $i++; }')
h2(
    "h2_end_exit",
    f'{WRITE} {W_HOLD} {{ @n = count(); }} END {{ printf("bye\\n"); exit(); }}',
    *HOLD,
)
h2(
    "h2_interval_print_user",
    "interval:ms:100 { @t = count(); print(@t); if ((uint64)@t == 3) { exit(); } }",
)
h2begin("h2_printf_high_byte", 'printf("%c%c|\\n", 200, 65);')
h2(
    "h2_two_probes_one_block",
    "tracepoint:syscalls:sys_enter_read, tracepoint:syscalls:sys_enter_write "
    f"{W_HOLD} {{ @[probe] = count(); }}",
    *HOLD,
)
