#!/usr/bin/env bash
# Run a command as root inside the guest (Debian's stock 6.1 kernel under QEMU), with the
# checkout shared read-write at its own host path and as the working directory.
#
#   scripts/guest/run.sh [-t SECONDS] [-e NAME=VALUE]... [--] COMMAND [ARG...]
#
# The command's stdout and stderr (merged) stream to stdout. Exit status: the command's;
# 124 when the guest ran past the timeout (it is killed); 125 when the image could not be
# built or the guest did not boot or report; 126 when the guest kernel stalled (below).
# The image comes from image.sh (built on first
# use, then cached). The guest always has TRACERD_GUEST=1. QEMU uses TCG (software
# emulation, about 20x slower than the host for CPU-bound work): our machines' /dev/kvm
# runs only PVM guests; TRACERD_GUEST_ACCEL=kvm uses KVM where it works. A soft lockup or
# an RCU stall in the guest panics it (softlockup_panic=1, panic_on_rcu_stall=1): the run
# ends at once with 126 and the console instead of hanging until the timeout (TCG now and
# then starves a guest CPU's timer while ftrace patches the kernel text).
# Environment: TRACERD_GUEST_MEM (2G), TRACERD_GUEST_SMP (2), TRACERD_GUEST_CACHE.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SHARE=$(cd "$HERE/../.." && pwd -P)
CACHE=${TRACERD_GUEST_CACHE:-/var/cache/tracerd-guest}
TIMEOUT=900
ENVS=(TRACERD_GUEST=1)

log() { printf '[guest] %s\n' "$*" >&2; }
while [ $# -gt 0 ]; do
    case "$1" in
        -t) TIMEOUT=$2; shift 2 ;;
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
    rm -rf "$CACHE/last-run" && mkdir -p "$CACHE/last-run"
    cp "$RUN"/console.log "$RUN"/qemu.log "$RUN"/cmd "$CACHE/last-run/" 2>/dev/null || true
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

case "${TRACERD_GUEST_ACCEL:-tcg}" in
    tcg) ACCEL=(-accel tcg,thread=multi -cpu max) ;;
    kvm) ACCEL=(-accel kvm -cpu host) ;;
    *) log "TRACERD_GUEST_ACCEL must be tcg or kvm"; exit 125 ;;
esac
BIOS=()
[ -f /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)  # boots faster

STARTED=$(date +%s)
qemu-system-x86_64 "${ACCEL[@]}" "${BIOS[@]}" -machine pc -nodefaults -no-user-config \
    -display none -no-reboot -m "${TRACERD_GUEST_MEM:-2G}" -smp "${TRACERD_GUEST_SMP:-2}" \
    -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.cpio" \
    -append "console=ttyS0 quiet panic=-1 softlockup_panic=1 sysctl.kernel.panic_on_rcu_stall=1 mitigations=off tsc=reliable rw" \
    -drive "file=$IMAGE/rootfs.ext4,if=virtio,format=raw,snapshot=on,cache=unsafe" \
    -virtfs "local,path=$RUN,mount_tag=ctl,security_model=none,multidevs=remap" \
    -virtfs "local,path=$SHARE,mount_tag=share,security_model=none,multidevs=remap" \
    -chardev "file,id=console,path=$RUN/console.log" -serial chardev:console \
    -chardev "file,id=output,path=$RUN/output" -serial chardev:output \
    -nic none >"$RUN/qemu.log" 2>&1 &
QEMU_PID=$!
tail -s 0.2 -n +1 -f --pid="$QEMU_PID" "$RUN/output" &
TAIL_PID=$!

STATUS=
DEADLINE=$((STARTED + TIMEOUT))
while kill -0 "$QEMU_PID" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$DEADLINE" ]; then
        log "time budget of ${TIMEOUT} s exceeded: killing the guest"
        kill "$QEMU_PID" 2>/dev/null || true
        STATUS=124
        break
    fi
    sleep 0.5
done
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
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
log "guest ran $(($(date +%s) - STARTED)) s (command from $(cat "$RUN/t_ready" 2>/dev/null || echo ?) s to $(cat "$RUN/t_done" 2>/dev/null || echo ?) s of guest uptime); status $STATUS"
exit "$STATUS"
