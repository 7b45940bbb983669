#!/usr/bin/env bash
# Run a command as root inside the guest (Debian's stock 6.1 kernel under QEMU), with the
# checkout shared read-write at its own host path and as the working directory.
#
#   scripts/guest/run.sh [-t SECONDS] [-w SECONDS] [-k DIR] [-e NAME=VALUE]... [--] COMMAND [ARG...]
#
# The command's stdout and stderr (merged) stream to stdout. Exit status: the command's;
# 123 when the watchdog fired (below); 124 when the guest ran past the timeout (-t, it is
# killed); 125 when the image could not be built or the guest did not boot or report; 126
# when the guest kernel stalled (below). -k DIR: keep the run's files there (console.log,
# dump.txt, the progress and results files of tests/guest/progress.py).
#
# Watchdog (-w, TRACERD_GUEST_WATCHDOG_S, default 180 s; 0 = off): when neither the
# command's output grew nor $TRACERD_GUEST_CTL/progress changed (the tier's pytest plugin
# writes it while the running test's main thread moves) for that long, the guest is
# stuck (until the progress file first appears: 2x that long, for the boot and Python's
# imports, which took over 120 s on a host running three guests). The longest stretch
# without progress measured in a passing tier: 90 s (a BCC compile, two guests at once). run.sh then dumps what it can, kills the guest and exits 123: the running test
# (progress file, else the last test id in the output), where each vCPU is (QEMU's QMP
# socket: the guest paused a few times, RIP and its symbol from the guest's kallsyms), the state
# and kernel stacks of the guest's blocked, running and user tasks (stage2's helper,
# asked through the control share), the blocked tasks and CPU backtraces by SysRq on the
# console, and the console's tail. It writes `stuck` (kept with -k): `kernel` when a task
# was blocked in the guest kernel (D state) or the guest's userspace did not answer, else
# `user` (a hang in user space: a bug in a test or the daemon, never rerun by the tier).
# The image comes from image.sh (built on first
# use, then cached). The guest always has TRACERD_GUEST=1. QEMU uses TCG (software
# emulation, about 20x slower than the host for CPU-bound work), both vCPUs in one host
# thread (TRACERD_GUEST_TCG_THREAD, below; printed at start): our machines (CI's too)
# are themselves KVM guests whose /dev/kvm is the kvm_pvm module, which runs only PVM
# (paravirtualised, ring-3) guest kernels. Tried with Debian's stock 6.1: `-cpu host` makes
# QEMU abort (KVM refuses MSR 0x10a, IA32_ARCH_CAPABILITIES), `-cpu host,-arch-capabilities`
# and `-cpu qemu64` boot no further than the real-mode setup ("Probing EDD") and hang
# silently. So "KVM when available, else TCG" would need a boot probe that can only fail
# here; TRACERD_GUEST_ACCEL=kvm uses KVM on machines where it works. A soft lockup or
# an RCU stall in the guest panics it (softlockup_panic=1, panic_on_rcu_stall=1): the run
# ends at once with 126 and the console instead of hanging until the timeout. (A hang no
# detector reports: TCG re-running a stale translation of an int3 that ftrace removed from
# a function every CPU keeps calling, under thread=multi; the vCPU samples of the dump show
# it, docs/guest.md.) An RCU Tasks grace
# period (ftrace waits for one when it frees a dynamic ops: an instance's function tracer,
# a BPF trampoline) that takes over 60 s prints its holdout tasks on the console (the
# default is 10 minutes; it only warns: the watchdog decides).
# Environment: TRACERD_GUEST_MEM (2G), TRACERD_GUEST_SMP (2), TRACERD_GUEST_CACHE,
# TRACERD_GUEST_ACCEL (tcg or kvm), TRACERD_GUEST_TCG_THREAD (single or multi).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SHARE=$(cd "$HERE/../.." && pwd -P)
CACHE=${TRACERD_GUEST_CACHE:-/var/cache/tracerd-guest}
TIMEOUT=900
WATCHDOG_S=${TRACERD_GUEST_WATCHDOG_S:-180}
KEEP=
ENVS=(TRACERD_GUEST=1 TRACERD_GUEST_CTL=/run/ctl)

log() { printf '[guest] %s\n' "$*" >&2; }
while [ $# -gt 0 ]; do
    case "$1" in
        -t) TIMEOUT=$2; shift 2 ;;
        -w) WATCHDOG_S=$2; shift 2 ;;
        -k) KEEP=$2; shift 2 ;;
        -e) ENVS+=("$2"); shift 2 ;;
        --) shift; break ;;
        -*) log "unknown option $1"; exit 125 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { log "usage: run.sh [-t SECONDS] [-e NAME=VALUE]... [--] COMMAND [ARG...]"; exit 125; }

IMAGE=$("$HERE/image.sh" | tail -n 1) || { log "the guest image could not be built"; exit 125; }
[ -f "$IMAGE/ready" ] || { log "no guest image at $IMAGE"; exit 125; }

mkdir -p "$CACHE/runs"
RUN=$(mktemp -d "$CACHE/runs/XXXXXX")
QEMU_PID=
TAIL_PID=
cleanup() {
    if [ -n "$QEMU_PID" ]; then kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; fi
    if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null || true; fi
    local dest
    for dest in "$CACHE/last-run" ${KEEP:+"$KEEP"}; do
        rm -rf "$dest" && mkdir -p "$dest"
        cp "$RUN"/console.log "$RUN"/qemu.log "$RUN"/cmd "$RUN"/progress "$RUN"/results \
            "$RUN"/dump*.txt "$RUN"/cpus.txt "$RUN"/qemu-threads.txt "$RUN"/stuck "$RUN"/accel \
            "$RUN"/kernel "$dest/" 2>/dev/null || true
    done
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
    printf 'GUEST_SHARE=%s\n' "$(quote "$SHARE")"
    for kv in "${ENVS[@]}"; do
        case "$kv" in
            [A-Za-z_]*=*) printf 'export %s=%s\n' "${kv%%=*}" "$(quote "${kv#*=}")" ;;
            *) log "bad -e $kv"; exit 125 ;;
        esac
    done
} >"$RUN/env"
{
    printf 'exec'
    for arg in "$@"; do printf ' %s' "$(quote "$arg")"; done
    printf '\n'
} >"$RUN/cmd"
: >"$RUN/output"
# the guest's text symbols, for the watchdog to name where a vCPU is (Debian ships no real
# System.map; nokaslr keeps the addresses of one kernel build the same on every boot)
[ -s "$IMAGE/kallsyms" ] || : >"$RUN/want-kallsyms"

# TCG runs its vCPUs in one host thread, round-robin (thread=single), by default: with one
# thread per vCPU (thread=multi) a vCPU can keep executing a stale translation of an int3
# that ftrace or kprobes just removed from kernel text, and the guest loops in exc_int3 for
# good (issue 11; docs/guest.md). TRACERD_GUEST_TCG_THREAD=multi brings that mode back.
TCG_THREAD=${TRACERD_GUEST_TCG_THREAD:-single}
case "$TCG_THREAD" in
    single | multi) ;;
    *) log "TRACERD_GUEST_TCG_THREAD must be single or multi"; exit 125 ;;
esac
case "${TRACERD_GUEST_ACCEL:-tcg}" in
    tcg) ACCEL=(-accel "tcg,thread=$TCG_THREAD" -cpu max) ;;
    kvm) ACCEL=(-accel kvm -cpu host) ;;
    *) log "TRACERD_GUEST_ACCEL must be tcg or kvm"; exit 125 ;;
esac
echo "${ACCEL[1]}" >"$RUN/accel"
log "accelerator: ${ACCEL[1]}, ${TRACERD_GUEST_SMP:-2} vCPUs"
BIOS=()
[ -f /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)  # boots faster

STARTED=$(date +%s)
qemu-system-x86_64 "${ACCEL[@]}" "${BIOS[@]}" -machine pc -nodefaults -no-user-config \
    -name tracerd-guest,debug-threads=on -display none -no-reboot -m "${TRACERD_GUEST_MEM:-2G}" -smp "${TRACERD_GUEST_SMP:-2}" \
    -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.cpio" \
    -append "console=ttyS0 quiet panic=-1 softlockup_panic=1 sysctl.kernel.panic_on_rcu_stall=1 sysrq_always_enabled nokaslr rcupdate.rcu_task_stall_timeout=15000 mitigations=off tsc=reliable rw" \
    -drive "file=$IMAGE/rootfs.ext4,if=virtio,format=raw,snapshot=on,cache=unsafe" \
    -virtfs "local,path=$RUN,mount_tag=ctl,security_model=none,multidevs=remap" \
    -virtfs "local,path=$SHARE,mount_tag=share,security_model=none,multidevs=remap" \
    -chardev "file,id=console,path=$RUN/console.log" -serial chardev:console \
    -chardev "file,id=output,path=$RUN/output" -serial chardev:output \
    -qmp "unix:$RUN/qmp.sock,server=on,wait=off" \
    -nic none >"$RUN/qemu.log" 2>&1 &
QEMU_PID=$!
tail -s 0.2 -n +1 -f --pid="$QEMU_PID" "$RUN/output" &
TAIL_PID=$!

running_test() {  # the progress file's test, else the last test id the output shows
    local test
    test=$(cut -d' ' -f2- "$RUN/progress" 2>/dev/null) || test=
    [ -n "$test" ] || test=$(grep -aoE 'tests/[^ ]+::[^ ]+' "$RUN/output" | tail -n 1) || true
    echo "${test:-unknown (no test started)}"
}
qemu_threads() {  # each QEMU thread's name, state and CPU time over 2 s (host side)
    local t before=() after=() names=() states=() i=0 stat rest
    for t in /proc/"$QEMU_PID"/task/*; do
        read -r stat <"$t/stat" || continue
        rest=${stat##*) }
        set -- $rest
        names+=("$(cat "$t/comm")") states+=("$1") before+=($((${12} + ${13})))
    done
    sleep 2
    for t in /proc/"$QEMU_PID"/task/*; do
        read -r stat <"$t/stat" || continue
        rest=${stat##*) }
        set -- $rest
        after+=($((${12} + ${13})))
    done
    for i in "${!names[@]}"; do
        printf '%-20s %s %5.2f s\n' "${names[$i]}" "${states[$i]}" \
            "$(awk -v d=$(( ${after[$i]:-0} - ${before[$i]} )) -v hz="$(getconf CLK_TCK)" \
                'BEGIN {print d / hz}')"
    done
}
watchdog_dump() {  # the guest made no progress for WATCHDOG_S: what it is doing, loudly
    local test i symbols blocked
    test=$(running_test)
    : >"$RUN/dump.req"  # stage2's helper acks at once and dumps if the guest still runs
    printf '\n' >&2
    log "!!! WATCHDOG: no progress in the guest for ${WATCHDOG_S} s; the test running:"
    log "!!!   $test"
    python3 "$HERE/qmp.py" "$RUN/qmp.sock" sysrq 9 w l >&2 || true  # to the console
    log "where the guest's CPUs are (QEMU paused it 8 times):"
    symbols=$IMAGE/kallsyms
    [ -s "$symbols" ] || symbols=$RUN/kallsyms  # this image's first boot
    python3 "$HERE/qmp.py" "$RUN/qmp.sock" sample --symbols "$symbols" \
        | tee "$RUN/cpus.txt" | sed 's/^/[guest]   /' >&2 || true
    log "QEMU's threads (host CPU time used in 2 s; a vCPU thread at 2 s spins; thread=single runs all vCPUs in one):"
    qemu_threads | tee "$RUN/qemu-threads.txt" | sed 's/^/[guest]   /' >&2 || true
    for i in $(seq 60); do [ -s "$RUN/dump.ack" ] && break; sleep 0.5; done
    if [ -s "$RUN/dump.ack" ]; then  # answering, maybe slowly (a loaded host)
        for i in $(seq 180); do [ -s "$RUN/dump.txt" ] && break; sleep 0.5; done
        sleep 2  # the top-level tracefs files (read last: they may block)
    fi
    log "guest console (last 30 lines):"
    tail -n 30 "$RUN/console.log" | sed 's/^/[guest]   /' >&2 || true
    # stuck in the kernel (a task in D state, or a guest that cannot even answer): what
    # an emulator stall looks like, the tier may rerun; else a hang in user space: a bug
    blocked=
    if [ -s "$RUN/dump.txt" ]; then
        log "the guest's tasks (stage2's helper; top-level tracefs files last):"
        cat "$RUN/dump.txt" "$RUN/dump-tracefs.txt" 2>/dev/null | sed 's/^/[guest]   /' >&2
        blocked=$(grep -E '^--- .* state D ' "$RUN/dump.txt" | grep -v 'wchan p9_' \
            | cut -c5- | paste -sd';' -) || true  # (not a moment's wait on a 9p reply)
    elif [ -s "$RUN/dump.ack" ]; then
        log "the guest's helper answered but did not finish its dump within 90 s"
    else
        blocked="the guest's userspace did not answer within 30 s"
    fi
    if [ -n "$blocked" ]; then
        echo kernel >"$RUN/stuck"
        log "!!! stuck in the guest kernel: $blocked"
    else
        echo user >"$RUN/stuck"
        log "!!! no task blocked in the kernel: the test hangs in user space (a bug: no rerun)"
    fi
    log "!!! WATCHDOG: the guest was stuck ${WATCHDOG_S} s in $test; killed (status 123)"
}

STATUS=
DEADLINE=$((STARTED + TIMEOUT))
seen=
last_change=$STARTED
while kill -0 "$QEMU_PID" 2>/dev/null; do
    now=$(date +%s)
    if [ "$now" -ge "$DEADLINE" ]; then
        log "time budget of ${TIMEOUT} s exceeded in $(running_test): killing the guest"
        kill "$QEMU_PID" 2>/dev/null || true
        STATUS=124
        break
    fi
    state="$(stat -c %s "$RUN/output") $(cut -d' ' -f1 "$RUN/progress" 2>/dev/null || true)"
    if [ "$state" != "$seen" ]; then
        seen=$state last_change=$now
    elif [ "$WATCHDOG_S" -gt 0 ] && [ $((now - last_change)) -ge "$WATCHDOG_S" ] \
        && { [ -s "$RUN/progress" ] || [ $((now - last_change)) -ge $((2 * WATCHDOG_S)) ]; }; then
        # (before the command's progress plugin is loaded: 2x the time, for boot and imports)
        watchdog_dump
        kill "$QEMU_PID" 2>/dev/null || true
        STATUS=123
        break
    fi
    sleep 0.5
done
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
if [ -s "$RUN/kallsyms" ] && [ ! -s "$IMAGE/kallsyms" ]; then
    cp "$RUN/kallsyms" "$IMAGE/kallsyms.$$" && mv "$IMAGE/kallsyms.$$" "$IMAGE/kallsyms" || true
fi
wait "$TAIL_PID" 2>/dev/null || true
TAIL_PID=
if [ -z "$STATUS" ]; then
    if [ -s "$RUN/rc" ]; then
        STATUS=$(cat "$RUN/rc")
    else
        log "the guest ended without an exit status; $(cat "$RUN/error" 2>/dev/null)"
        log "qemu: $(tail -n 5 "$RUN/qemu.log")"
        log "guest console (last 30 lines):"
        tail -n 30 "$RUN/console.log" >&2 || true
        STATUS=125
        if grep -qE 'soft lockup|self-detected stall|rcu_sched detected stall|RCU Stall' \
            "$RUN/console.log"; then
            log "the guest kernel stalled (status 126)"
            STATUS=126
        fi
    fi
fi
log "guest kernel: $(sed -E 's/^Linux version ([^ ]+) .* (#[0-9]+ .*)$/\1 \2/' "$RUN/kernel" 2>/dev/null || echo '? (did not boot)')"
log "guest ran $(($(date +%s) - STARTED)) s (command from $(cat "$RUN/t_ready" 2>/dev/null || echo ?) s to $(cat "$RUN/t_done" 2>/dev/null || echo ?) s of guest uptime); status $STATUS"
exit "$STATUS"
