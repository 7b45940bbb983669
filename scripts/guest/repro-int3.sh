#!/bin/sh
# Reproduces issue 11's emulator loop (docs/guest.md, "The accelerator"): inside the guest,
# ftrace switches the top-level tracer on and off, round after round, over functions the
# whole guest runs, while a load on the other vCPU runs them. Under multi-threaded TCG the
# guest hangs within a few rounds (both vCPUs in asm_exc_int3/exc_int3: the watchdog's
# dump shows it); under thread=single every round passes. Not part of the tier:
#   TRACERD_GUEST_TCG_THREAD=multi scripts/guest/run.sh -w 60 -e ROUNDS=300 -- sh scripts/guest/repro-int3.sh
T=/sys/kernel/tracing
echo "kernel $(uname -r)"
( while :; do busybox dd if=/dev/zero of=/dev/null bs=1 count=2000 2>/dev/null; cat /proc/self/status >/dev/null; done ) &
LOAD=$!
echo 0 > $T/tracing_on
printf '%s\n' __rcu_read_unlock __rcu_read_lock ksys_write ksys_read > $T/set_ftrace_filter
i=0
while [ $i -lt ${ROUNDS:-200} ]; do
  i=$((i+1))
  if [ $((i % 2)) = 0 ]; then tr=function_graph; else tr=function; fi
  s=$(date +%s%N); echo $tr > $T/current_tracer; echo nop > $T/current_tracer; e=$(date +%s%N)
  echo "round $i $tr: $(( (e - s) / 1000000 )) ms"
done
kill $LOAD
echo > $T/set_ftrace_filter
echo 1 > $T/tracing_on
echo "done $i rounds"

