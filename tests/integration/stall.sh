#!/usr/bin/env bash
# stall.sh: a task of a job stopped with SIGSTOP (issue 13, item 6).  Under
# `ckpt-run --stall 0.5`, once a checkpoint is committed the worker is
# stopped: ckpt-run must report a checkpoint not written within the bound,
# naming the worker as stopped, and abort it; once the worker gets SIGCONT,
# checkpoints commit again and the job ends with the plain run's output and
# no recovery.  Every step waits for a job event, never for a time.
#
#   stall.sh [--ckpt-cc PATH] [--ckpt-run PATH]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
((${#JOBTEST_ARGS[@]} == 0)) || { echo "stall.sh: unknown argument ${JOBTEST_ARGS[0]}" >&2; exit 2; }

jobtest_build stall "$here/progs/pingpong.c" 1 plain pingpong
pvmvm_start --wd "$work"
cd "$work"
ROUNDS=300
pvmvm_run 60 "$work/plain" $ROUNDS >expected 2>/dev/null || pvmvm_fail "plain run failed"
pvmvm_wait_idle 10 || true

ok=1
jobtest_hold "$work/hold"
"$ckpt_run" -v -i 0.1 --stall 0.5 -d "$work/ckpt" "$work/pingpong" $ROUNDS >out 2>err &
pid=$!
jobtest_wait_for err "checkpoint 1 committed" $pid || { ok=0; echo "# no checkpoint committed"; }
worker=$(pvmvm_tasks | awk '$3 ~ /pingpong$/ { print $2 }' | head -n1)
[[ -n $worker ]] || { ok=0; echo "# no worker found"; }
[[ -z $worker ]] || kill -STOP "$worker"
jobtest_wait_for err "not written within 0.5 s (--stall) by t[0-9a-f]* (stopped)" $pid 1 60 ||
    { ok=0; echo "# the stopped worker was not reported"; }
[[ -z $worker ]] || kill -CONT "$worker"
n=$(jobtest_commits err)
jobtest_wait_for err "^ckpt-run: checkpoint [0-9]* committed" $pid $((n + 2)) 60 ||
    { ok=0; echo "# no checkpoint committed after SIGCONT"; }
jobtest_release
rc=0
wait $pid || rc=$?
((rc == 0)) || { ok=0; echo "# ckpt-run exited $rc"; }
cmp -s expected out || { ok=0; echo "# output differs from the plain run"; }
n=$(jobtest_recoveries err)
((n == 0)) || { ok=0; echo "# $n recovery(ies)"; }
jobtest_report "stopped worker" $ok err
((failed == 0)) || pvmvm_fail "a stopped task"
