#!/usr/bin/env bash
# forge.sh: a plain PVM program (progs/forger.c, built with cc) in the same
# virtual machine as a job (`ckpt-run -n 1 pingpong`) forges well-formed
# runtime messages, once the job has committed a checkpoint (issue 13,
# item 3).  Each scenario must end with the plain run's output, no recovery,
# checkpoints still committed after the forgery, and the forger reported once
# by its task id:
#   redirect   the master is told its worker lives at the forger (CTL_MAP)
#   stop       the master is asked for checkpoint 2^30 (CTL_REQ)
#   hostdel    ckpt-run is told the master's host left (a PvmHostDelete notice)
#   output     ckpt-run gets three lines "of the master's" output under -n
#   flood      the master gets 70,000 application messages it never receives
#              (PVM lets any task send them): they are the program's to hold,
#              so the expectation is the same except that the forger is named
#              once in the report of messages left unread (at 65,536), not as
#              a sender of what it may not send
#
#   forge.sh [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(redirect stop hostdel output flood)

jobtest_build forge "$here/progs/pingpong.c" 1 plain pingpong
cc -O1 -o "$work/forger" "$here/progs/forger.c" -lpvm3
pvmvm_start --wd "$work"
cd "$work"
ROUNDS=400
pvmvm_run 60 "$work/plain" $ROUNDS >expected 2>/dev/null || pvmvm_fail "plain run failed"
pvmvm_wait_idle 10 || true

for s in "${scenarios[@]}"; do
    ok=1
    jobtest_hold "$work/hold"
    "$ckpt_run" -v -i 0.1 -n 1 -d "$work/ckpt.$s" "$work/pingpong" $ROUNDS >$s.out 2>$s.err &
    pid=$!
    if ! jobtest_wait_for $s.err "checkpoint 2 committed" $pid; then
        ok=0; echo "# $s: no checkpoint before the forgery"
    fi
    args=("$s")
    [[ $s == flood ]] && args+=(70000)
    "$work/forger" "${args[@]}" >$s.forger 2>&1 || { ok=0; echo "# $s: the forger failed: $(cat $s.forger)"; }
    forger=$(sed -n 's/^forger t\([0-9a-f]*\):.*/\1/p' $s.forger)
    # checkpoints go on: two more commits after the forgery (a hang ends here)
    n=$(jobtest_commits $s.err)
    if ! jobtest_wait_for $s.err "^ckpt-run: checkpoint [0-9]* committed" $pid $((n + 2)) 60; then
        ok=0; echo "# $s: no checkpoint committed after the forgery"
    fi
    jobtest_release
    kill -0 $pid 2>/dev/null && ((ok == 0)) && kill $pid
    rc=0
    wait $pid || rc=$?
    ((rc == 0)) || { ok=0; echo "# $s: ckpt-run exited $rc"; }
    cmp -s expected $s.out || { ok=0; echo "# $s: output differs from the plain run"; diff expected $s.out | head -n 4 || true; }
    n=$(jobtest_recoveries $s.err)
    ((n == 0)) || { ok=0; echo "# $s: $n recovery(ies) of a healthy job"; }
    said="t${forger:-none} may not send"
    [[ $s == flood ]] && said="not yet taken by the program, the most ([0-9]*) from t${forger:-none} with tag 99"
    n=$(cat $s.err "$PVMVM_LOG" | grep -c "$said" || true)
    ((n == 1)) || { ok=0; echo "# $s: the forger t${forger:-?} reported $n time(s), want 1"; }
    jobtest_report "$s" $ok $s.err
done
echo "# forge: $passed passed, $failed failed"
((failed == 0)) || pvmvm_fail "forged runtime messages obeyed"
