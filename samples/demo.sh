#!/usr/bin/env bash
# demo.sh: the whole story in one command.
#
#   samples/demo.sh [N ITERS]          (default: 1024 12000, about 20 s per run)
#
# 1. builds ckpt (cmake, into $BUILD, default build/ at the top of the tree);
# 2. builds samples/jacobi twice from its unchanged Makefile: `make` (plain) and
#    `make CC=ckpt-cc`, in a temporary folder;
# 3. starts a private PVM virtual machine (tests/lib/pvmvm.sh), runs the plain
#    build with 4 tasks: the reference answer;
# 4. runs the ckpt-cc build with `ckpt-run -n 4 --interval 2 --dir ...`, and
#    once checkpoint KILL_AFTER (3) is committed kills one of its tasks with
#    `kill -9` (its pid taken from the pvmd's task list, the console's `ps -al`);
# 5. compares what the two runs printed: they must be identical.
# Exit status 0 when they are, 1 when not, 2 when a part is missing.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$top/build}
N=${1:-1024}
ITERS=${2:-12000}
TASKS=4
KILL_AFTER=${KILL_AFTER:-3}     # the kill follows this checkpoint's commit
INTERVAL=${INTERVAL:-2}         # checkpoint interval, seconds
# shellcheck source=../tests/lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"

say() { printf '\n== %s\n' "$*"; }

say "building ckpt in $BUILD"
cmake -S "$top" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
ckpt_cc=$BUILD/instrument/ckpt-cc
ckpt_run=$BUILD/tools/ckpt-run

work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-demo.XXXXXX")
echo "work folder: $work (removed at the end)"
pvmvm_at_exit 'rm -rf "$work"'

say "building samples/jacobi: make, and make CC=ckpt-cc"
cp -r "$top/samples/jacobi" "$work/plain"
make -s -C "$work/plain" clean
make -C "$work/plain" CC=cc
if [[ ! -x $ckpt_cc ]]; then
    echo "no $ckpt_cc yet: only the plain part of the demo can run" >&2
fi
cp -r "$top/samples/jacobi" "$work/ckpt"
make -s -C "$work/ckpt" clean
[[ -x $ckpt_cc ]] && make -C "$work/ckpt" CC="$ckpt_cc"

say "plain run: jacobi $N $ITERS $TASKS"
pvmvm_start --ep "$work/plain" --wd "$work"
start=$SECONDS
(cd "$work" && pvmvm_run 600 ./plain/jacobi "$N" "$ITERS" "$TASKS" 500) | tee "$work/plain.out"
echo "($((SECONDS - start)) s)"
pvmvm_stop

if [[ ! -x $ckpt_cc || ! -x $ckpt_run ]]; then
    echo "missing $ckpt_cc or $ckpt_run: build them first" >&2
    exit 2
fi

say "checkpointed run: ckpt-run -n $TASKS --interval $INTERVAL, one task killed after checkpoint $KILL_AFTER"
pvmvm_start --ep "$work/ckpt" --wd "$work"
# The tasks wait at their exit while this file exists (CKPT_HOLD, a test
# hook): however fast the machine, the job cannot end before the kill.
hold=$work/hold
: >"$hold"
(cd "$work" && CKPT_HOLD=$hold exec "$ckpt_run" -v -n "$TASKS" --interval "$INTERVAL" --dir "$work/ckpt.jacobi" \
    ./ckpt/jacobi "$N" "$ITERS" "$TASKS" 500) >"$work/ckpt.out" 2>"$work/ckpt.err" &
run_pid=$!
start=$SECONDS
pvmvm_at_exit "kill $run_pid 2>/dev/null || true"
until grep -q "checkpoint $KILL_AFTER committed" "$work/ckpt.err"; do
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.1
done
grep "committed" "$work/ckpt.err" | sed 's/^/  /'
echo "tasks (tid pid command):"
pvmvm_tasks | sed 's/^/  /'
victim=$(pvmvm_tasks | awk '$3 ~ /jacobi$/ { pid = $2 } END { print pid }')
if [[ -n $victim ]]; then
    echo "kill -9 $victim"
    kill -9 "$victim"
    until grep -q "recovered from\|restarted the job" "$work/ckpt.err"; do
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep "recovered from\|restarted the job" "$work/ckpt.err" | sed 's/^/  /'
else
    echo "no jacobi task running after checkpoint $KILL_AFTER"
fi
rm -f "$hold"
rc=0
timeout 600 tail --pid="$run_pid" -f /dev/null || true
wait "$run_pid" || rc=$?
cat "$work/ckpt.out"
echo "(ckpt-run exit status $rc, $((SECONDS - start)) s)"
tail -n 1 "$work/ckpt.err" | sed 's/^/  /'    # ckpt-run's summary
if ((rc != 0)); then
    sed 's/^/  ckpt-run: /' "$work/ckpt.err" >&2
fi
command -v "$BUILD/tools/ckpt-info" >/dev/null && "$BUILD/tools/ckpt-info" "$work/ckpt.jacobi" 2>/dev/null | head -n 20 || true
pvmvm_stop

say "compare"
if cmp -s "$work/plain.out" "$work/ckpt.out"; then
    echo "SAME: the run that lost a task printed exactly what the plain run printed"
    exit 0
fi
echo "DIFFERENT:"
diff "$work/plain.out" "$work/ckpt.out" || true
exit 1
