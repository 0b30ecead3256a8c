#!/usr/bin/env bash
# farmlog.sh: log entries to a task that left for good are dropped.  The farm
# program (progs/farm.c) spawns many short-lived workers one after the other
# and sends each a few messages it never acknowledges.  Once a worker has left,
# no rollback can bring it back to before its exit, so no replay needs them:
#
#   growth    a failure-free run with a checkpoint every 0.1 s: the master's log
#             in the last committed checkpoint (taken after the farm, every
#             worker gone) holds less than a quarter of what the workers were
#             sent unacknowledged (without dropping it holds all of it)
#   recovery  the master killed after checkpoint 5 is committed: the job resumes
#             from checkpoint 5 or later, prints what the plain run prints, and
#             replays nothing to the workers that left (no "Bad parameter")
#
#   farmlog.sh [--ckpt-info PATH] [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

ckpt_info=$top/build/tools/ckpt-info
if [[ ${1:-} == --ckpt-info ]]; then ckpt_info=$2; shift 2; fi
jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(growth recovery)

WORKERS=60
SENT=$((WORKERS * 5 * 4096))    # what the master sends its workers (progs/farm.c)
# two names, so that each build spawns workers of its own kind by name
jobtest_build farmlog "$here/progs/farm.c" 1 farm-plain farm
pvmvm_start --wd "$work" --ep "$work"
cd "$work"
pvmvm_run 60 "$work/farm-plain" $WORKERS >expected 2>plain.err || pvmvm_fail "plain run failed: $(cat plain.err)"
[[ -s expected ]] || pvmvm_fail "the plain run printed nothing"
pvmvm_wait_idle 10 || true

# newest_master_log DIR: log bytes of the root task (flag 0x100) in DIR's
# newest commit, which ckpt-info lists first
newest_master_log() {
    "$ckpt_info" --json "$1" 2>/dev/null |
        awk '/"epoch"/ && seen++ { exit }
             /"log_bytes"/ { f = $0; sub(/.*"flags": /, "", f); sub(/,.*/, "", f)
                             if (int(f / 256) % 2) { sub(/.*"log_bytes": /, ""); sub(/,.*/, ""); print; exit } }'
}

growth() {
    local ok=1 log
    rm -rf ckpt.growth
    pvmvm_run 120 "$ckpt_run" -v -i 0.1 -d ckpt.growth "$work/farm" $WORKERS >out.growth 2>err.growth ||
        { ok=0; echo "# growth: ckpt-run failed"; }
    cmp -s expected out.growth || { ok=0; echo "# growth: output differs from the plain run"; }
    log=$(newest_master_log ckpt.growth)
    if [[ -z $log ]]; then
        ok=0; echo "# growth: no committed checkpoint with the master in ckpt.growth"
    else
        echo "# growth: $WORKERS workers were sent $SENT bytes; the master's last image logs $log"
        ((log * 4 < SENT)) || { ok=0; echo "# growth: the master's log grows with the number of workers"; }
    fi
    jobtest_report growth $ok err.growth
}

recovery() {
    local ok=1 pid root cut
    rm -rf ckpt.recovery
    "$ckpt_run" -v -i 0.1 -d ckpt.recovery "$work/farm" $WORKERS >out.recovery 2>err.recovery &
    pid=$!
    until grep -q 'checkpoint 5 committed' err.recovery 2>/dev/null || ! kill -0 $pid 2>/dev/null; do
        sleep 0.01
    done
    root=$(ps -o pid= --ppid $pid | head -n 1 | tr -d ' ')
    cut=$(grep -o 'checkpoint [0-9]* committed' err.recovery | tail -n 1 | awk '{ print $2 + 0 }') || true
    if [[ $root ]] && kill -9 "$root" 2>/dev/null; then
        echo "# recovery: killed the master (pid $root) after checkpoint ${cut:-?}"
    else
        ok=0; echo "# recovery: the kill did not land (the job ended first?)"
    fi
    local end=$((SECONDS + 120))
    while kill -0 $pid 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    if kill -0 $pid 2>/dev/null; then
        kill -9 $pid; ok=0; echo "# recovery: ckpt-run still running after 120 s"
    fi
    wait $pid || { ok=0; echo "# recovery: ckpt-run failed"; }
    cmp -s expected out.recovery || { ok=0; echo "# recovery: output differs from the plain run"; }
    local k
    k=$(grep -o 'recovered from checkpoint [0-9]*' err.recovery | head -n 1 | awk '{ print $4 }') || true
    if [[ -z $k ]] || ((k < ${cut:-1})); then
        ok=0; echo "# recovery: not resumed from checkpoint ${cut:-?} or later (${k:-none})"
    fi
    if grep -q 'Bad parameter\|replay to .* failed' err.recovery "$PVMVM_LOG"; then
        ok=0; echo "# recovery: replayed to a worker that had left:"
        grep 'Bad parameter\|replay to .* failed' err.recovery "$PVMVM_LOG" | head -n 3
    fi
    jobtest_report recovery $ok err.recovery
}

for s in "${scenarios[@]}"; do
    "$s"
done
echo "$passed passed, $failed failed"
((failed == 0))
