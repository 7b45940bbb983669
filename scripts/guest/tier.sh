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
#   PYTEST_ARGS                  more pytest arguments, shell-quoted (-k "kprobe or caps")
# A failed image build, a failed boot, a skip inside the guest or an exceeded budget
# all fail the tier.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUDGET_S=${TRACERD_GUEST_BUDGET_S:-1500}
TEST_TIMEOUT_S=${TRACERD_GUEST_TEST_TIMEOUT_S:-300}
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
started=$(date +%s)
status=0
scripts/guest/run.sh -t "$BUDGET_S" \
    -e "TRACERD_GUEST_BIN=$BIN" \
    -e TRACERD_STOP_TIMEOUT_S=60 \
    -e PYTHONDONTWRITEBYTECODE=1 \
    -e "CI=${CI:-}" \
    -- .venv/bin/python -m pytest -p no:cacheprovider --require-kernel \
    --timeout "$TEST_TIMEOUT_S" --durations=5 "${extra[@]}" tests/guest || status=$?
say "tier finished in $(($(date +%s) - started)) s with status $status (budget ${BUDGET_S} s)"
case $status in
    0) ;;
    5) say "!!! no test ran in the guest" ;;
    124) say "!!! the guest tier ran past its budget of ${BUDGET_S} s" ;;
    125) say "!!! the guest image could not be built or the guest did not boot" ;;
esac
exit "$status"
