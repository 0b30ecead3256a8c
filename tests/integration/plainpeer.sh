#!/usr/bin/env bash
# plainpeer.sh: a job task and a plain PVM tool (progs/plainpeer.c, built
# with ckpt-cc and with cc) under ckpt-run with frequent checkpoints.  The
# output must be the plain run's, the tool must get none of the runtime's
# messages (epoch marks, acknowledgements), ckpt-run's job must say once that
# the tool is outside the recovery guarantee, and the tool's three malformed
# runtime messages must each be reported with its id and dropped.  The tool
# spawns the job's program (ckpt-cc-built) as a child of its own: no task of
# the job, it must run as a plain PVM task (said once), not wait for ckpt-run.
#
#   plainpeer.sh [--ckpt-cc PATH] [--ckpt-run PATH]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
((${#JOBTEST_ARGS[@]} == 0)) || { echo "plainpeer.sh: unknown argument ${JOBTEST_ARGS[0]}" >&2; exit 2; }

jobtest_build plainpeer "$here/progs/plainpeer.c" 1 tool job
pvmvm_start --wd "$work"
cd "$work"
ROUNDS=300
pvmvm_run 60 "$work/tool" "$work/tool" $ROUNDS >expected 2>/dev/null || pvmvm_fail "plain run failed"
pvmvm_wait_idle 10 || true
grep -q 'the tool got 0 stray message(s); its own child said 42' expected ||
    pvmvm_fail "the plain run itself saw strays, or the tool's child did not answer"

rc=0
pvmvm_run 120 "$ckpt_run" -v -i 0.05 -d "$work/ckpt" "$work/job" "$work/tool" $ROUNDS >out 2>err || rc=$?
fail=0
((rc == 0)) || { echo "# ckpt-run exited $rc"; fail=1; }
cmp -s expected out || { echo "# output differs from the plain run"; diff expected out | head -n 5; fail=1; }
grep -q 'checkpoint [0-9]* committed' err || { echo "# no checkpoint was committed during the run"; fail=1; }
tool_tid=$(pvmvm_tasks | awk '$3 ~ /tool$/ { print $1 }' | head -n1)
notices=$(cat "$PVMVM_LOG" err | grep -c 'outside the recovery guarantee' || true)
((notices == 1)) || { echo "# $notices notice(s) that the tool is outside the guarantee, want 1"; fail=1; }
malformed=$(cat "$PVMVM_LOG" err | grep -c 'dropped a malformed runtime message from t' || true)
((malformed == 3)) || { echo "# $malformed malformed message(s) reported, want 3"; fail=1; }
outside=$(cat "$PVMVM_LOG" err | grep -c 'runs as a plain PVM task, without checkpoints' || true)
((outside == 1)) || { echo "# $outside notice(s) that the tool's child runs as a plain task, want 1"; fail=1; }
if ((fail)); then
    grep -v committed err | tail -n 20
    pvmvm_fail "plain peer: see above${tool_tid:+ (tool t$tool_tid)}"
fi
echo "ok - plain peer: same output, no strays, 1 notice, 3 malformed messages reported, its child plain"
