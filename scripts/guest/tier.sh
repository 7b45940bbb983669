#!/usr/bin/env bash
# The guest tier (`make guest-tests`): tests/guest under Debian's stock 6.1 kernel, where
# the function/function_graph tracers, kprobes and BPF fentry work (the host kernel
# refuses them). Builds what the guest cannot (test programs: the guest has no compiler;
# bytecode: the guest does not write into the checkout), then runs pytest in the guest
# with the checkout's .venv, under a time budget.
#
#   GUEST=0                      skip the tier (local runs only: refused when CI=true)
#   TRACERD_GUEST_BUDGET_S       the whole run, boot included (default 1500 s)
#   TRACERD_GUEST_TEST_TIMEOUT_S one test (default 300 s)
#   TRACERD_GUEST_WATCHDOG_S     no progress in the guest for that long fails the tier
#                                with a dump naming the stuck test (default 180 s; run.sh)
#   PYTEST_ARGS                  more pytest arguments, shell-quoted (-k "kprobe or caps")
#   TRACERD_GUEST_TCG_THREAD     single (default: both vCPUs in one QEMU thread) or multi
#                                (run.sh; multi can loop on a stale int3: docs/guest.md)
# Exit status: 0 passed; 1 a test failed; 5 no test ran; 123 the watchdog fired (the guest
# made no progress: run.sh dumped where it was stuck); 124 over the budget; 125 no image or
# no boot; 126 the guest kernel stalled (soft lockup or RCU stall panic). After a 126, or a
# 123 stuck in the guest kernel (not in user space: that is a bug), in which no test
# failed, the tests that did not pass run once more in a fresh guest, if the budget still
# holds such a run (said loudly); a test failure is never rerun.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUDGET_S=${TRACERD_GUEST_BUDGET_S:-1500}
TEST_TIMEOUT_S=${TRACERD_GUEST_TEST_TIMEOUT_S:-300}
RETRY_MIN_S=300  # a fresh guest: boot, imports and the capability probe take 1-2 minutes
BIN=$ROOT/build/guest/bin
say() { printf '[guest-tests] %s\n' "$*" >&2; }

if [ "${GUEST:-1}" = 0 ]; then
    if [ "${CI:-}" = true ]; then
        say "!!! GUEST=0 is for local runs: CI runs the guest tier"
        exit 1
    fi
    say "skipped (GUEST=0): the function/function_graph/kprobe/fentry paths were NOT tested"
    exit 0
fi
cd "$ROOT"
[ -x .venv/bin/python ] || { say "!!! no .venv: run scripts/setup.sh test first"; exit 1; }

mkdir -p "$BIN"
for src in tests/guest/progs/*.c; do
    out=$BIN/$(basename "$src" .c)
    if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
        gcc -O2 -Wall -Werror -o "$out" "$src"
    fi
done
.venv/bin/python -m compileall -q service tests >/dev/null

eval "extra=(${PYTEST_ARGS:-})"  # shell quoting allowed: PYTEST_ARGS="-k 'a or b'"
KEEP=${TRACERD_GUEST_KEEP:-$ROOT/build/guest/runs}  # each run's console, dumps, results
rm -rf "$KEEP"
started=$(date +%s)
run_tier() {  # $1 time left, $2 where to keep the run's files, then the tests
    local left=$1 keep=$2
    shift 2
    scripts/guest/run.sh -t "$left" -k "$keep" \
        -e "TRACERD_GUEST_BIN=$BIN" \
        -e TRACERD_STOP_TIMEOUT_S=60 \
        -e PYTHONDONTWRITEBYTECODE=1 \
        -e "CI=${CI:-}" \
        -- .venv/bin/python -m pytest -p no:cacheprovider -p tests.guest.progress -v \
        --require-kernel --timeout "$TEST_TIMEOUT_S" --durations=5 "${extra[@]}" "$@"
}
not_passed() {  # $1 a run's results file: the tests collected that did not pass
    awk '$1 == "collected" {order[++n] = $2} $1 == "passed" {ok[$2] = 1} $1 == "failed" {bad[$2] = 1}
         END {for (i = 1; i <= n; i++) if (!ok[order[i]] || bad[order[i]]) print order[i]}' "$1"
}
status=0
run_tier "$BUDGET_S" "$KEEP/1" tests/guest || status=$?
# A guest kernel stall (126) or a guest stuck in its kernel (123 + stuck=kernel) where no
# test failed is what QEMU's TCG does now and then: the tests that did not pass run once
# more in a fresh guest, if the budget still holds such a run. A test failure, a hang in
# user space, a second stall, or any other status fails the tier.
left=$((BUDGET_S - ($(date +%s) - started)))
stuck=$(cat "$KEEP/1/stuck" 2>/dev/null) || stuck=
if { [ "$status" = 126 ] || { [ "$status" = 123 ] && [ "$stuck" = kernel ]; }; } \
    && [ -s "$KEEP/1/results" ]; then
    mapfile -t again < <(not_passed "$KEEP/1/results")
    if grep -q '^failed ' "$KEEP/1/results"; then
        say "!!! a test failed before the guest got stuck: no rerun"
    elif [ "${#again[@]}" = 0 ]; then
        say "!!! the guest got stuck (status $status) after every test had passed: passed"
        status=0
    elif [ "$left" -lt "$RETRY_MIN_S" ]; then
        say "!!! the guest got stuck with ${left} s of the budget left: no rerun"
    else
        say "!!! RERUN: the guest got stuck in its kernel (status $status: what TCG does now" \
            "and then): running the ${#again[@]} tests that did not pass once more in a" \
            "fresh guest (${left} s left)"
        status=0
        run_tier "$left" "$KEEP/2" "${again[@]}" || status=$?
        [ "$status" = 0 ] && say "!!! the rerun passed: the tier passed after an emulator stall"
    fi
fi
last=$KEEP/1
[ -d "$KEEP/2" ] && last=$KEEP/2
say "tier finished in $(($(date +%s) - started)) s with status $status (budget ${BUDGET_S} s;" \
    "$(cat "$last/accel" 2>/dev/null || echo '?'); guest kernel" \
    "$(cut -d' ' -f3 "$last/kernel" 2>/dev/null || echo '?'))"
case $status in
    0) ;;
    5) say "!!! no test ran in the guest" ;;
    123) say "!!! the guest made no progress for the watchdog's time: see the dump above" ;;
    124) say "!!! the guest tier ran past its budget of ${BUDGET_S} s" ;;
    125) say "!!! the guest image could not be built or the guest did not boot" ;;
    126) say "!!! the guest kernel stalled (twice, or too late to run again)" ;;
esac
exit "$status"
