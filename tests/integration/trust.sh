#!/usr/bin/env bash
# trust.sh: attacks on a checkpoint folder, each against a real ckpt-run
# running the pingpong program (issue 13); the second local user is nobody.
#
#   foreign-folder   a folder nobody pre-created with mode 0777: refused, nothing runs
#   planted-epoch    nobody's 0777 folder holding a planted epoch (of a program
#                    of the attacker's choosing): --restart refuses, nothing runs
#   replaced-image   the root's image of checkpoint 3 replaced by another job's:
#                    --restart refuses checkpoint 3, resumes from 2, same output
#   foreign-epoch    the root's image of checkpoint 3 replaced by its image of
#                    checkpoint 2: the same
#   rebuilt          the program changed after the job stopped: --restart refuses
#                    to run it, and runs nothing
#   rebuilt          the program changed after the job stopped: --restart refuses
#                    to run it, and runs nothing
#   corrupt-commit   checkpoint 3's commit record damaged: --restart says so and
#                    resumes from checkpoint 2
#   pidfile-symlink  ckpt-run.pid a symlink to a file elsewhere: refused, the file
#                    is not written
#   stale-pid        ckpt-run.pid names an unrelated live process (a sleep):
#                    ckpt-ctl signals nothing
#   two-jobs         a second job on a folder in use: refused, naming the first
#                    ckpt-run's pid; the first ends with the right output
#   second-run       a fresh job in a folder holding an earlier job's commits
#                    (of other arguments): they are moved aside, and a task
#                    killed recovers from the new job's own checkpoint
#   restart-missing  --restart on a path that does not exist: an error, nothing created
#   killed           ckpt-run, running its own private pvmd, SIGKILLed: the pvmd is
#                    halted, and ckpt-ctl finds no job in the folder
#
#   trust.sh [--ckpt-cc PATH] [--ckpt-run PATH] [--ckpt-ctl PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(foreign-folder planted-epoch replaced-image foreign-epoch
    rebuilt corrupt-commit pidfile-symlink stale-pid two-jobs second-run restart-missing killed)

jobtest_build trust "$here/progs/pingpong.c" 1 plain pingpong
pvmvm_start --wd "$work"
cd "$work"
ROUNDS=1200
pvmvm_run 60 "$work/plain" $ROUNDS >expected 2>/dev/null || pvmvm_fail "plain run failed"
pvmvm_wait_idle 10 || true
# nobody must reach $work/pub, a folder like /tmp (world-writable, sticky)
chmod 711 "$work"
mkdir -m 1777 pub

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# run NAME [ckpt-run options and program...]: ckpt-run to its end, held until
# then (jobtest_hold); status in $rc, output in NAME.out / NAME.err
run() {
    local name=$1
    shift
    jobtest_hold "$work/hold"
    rc=0
    timeout -k 5 120 "$ckpt_run" -v "$@" >"$name.out" 2>"$name.err" || rc=$?
    jobtest_release
    pvmvm_wait_idle 10 || true
}

# background NAME DIR: a job of pingpong in DIR, in the background (its pid in
# $pid), held (jobtest_hold) until its first checkpoint is committed and
# until `settle` lets it end; settle's status in $rc
background() {
    jobtest_hold "$work/hold"
    "$ckpt_run" -v -i 0.2 -d "$2" "$work/pingpong" $ROUNDS >"$1.out" 2>"$1.err" &
    pid=$!
    jobtest_wait_for "$1.err" "checkpoint 1 committed" $pid
}
settle() {
    jobtest_release
    rc=0
    wait $pid || rc=$?
    pvmvm_wait_idle 10 || true
}

# stopped NAME DIR [ROUNDS]: a job whose ckpt-run dies right after committing
# checkpoint 3 in DIR (as a crash would leave it), for --restart
stopped() {
    CKPT_FAULT=coord-die-after-commit:3 run "$1" -i 0.2 -d "$2" "$work/pingpong" "${3:-$ROUNDS}"
    [[ -e $2/epoch.3/commit ]] || echo "# $1: no checkpoint 3 in $2"
}

# restart NAME DIR: ckpt-run --restart DIR, its output after NAME's
restart() {
    rc=0
    timeout -k 5 120 "$ckpt_run" -v --restart "$2" >>"$1.out" 2>>"$1.err" || rc=$?
    pvmvm_wait_idle 10 || true
}

# expect NAME COND MESSAGE: counts a failed condition
expect() { eval "$2" || { ok=0; echo "# $1: $3"; }; }

root_image() {  # root_image DIR EPOCH: the root task's image (the larger vtid is the worker's)
    find "$1/epoch.$2" -name 'task.*.img' | sort | head -n 1
}

for s in "${scenarios[@]}"; do
    ok=1
    case $s in
    foreign-folder)
        as_nobody mkdir -m 0777 pub/ckpt.$s
        run $s -i 0.2 -d "$work/pub/ckpt.$s" "$work/pingpong" $ROUNDS
        expect $s '((rc == 1))' "ckpt-run exited $rc, not 1"
        expect $s '[[ ! -s $s.out ]]' "the job ran in a folder nobody can write"
        expect $s 'grep -q "refusing checkpoint folder .*uid 65534" $s.err' "no refusal naming the owner" ;;
    planted-epoch)
        # nobody plants a committed epoch of a job of its choice (made here,
        # in a folder of ours, by a program at another path, then handed over)
        cp pingpong evil
        CKPT_FAULT=coord-die-after-commit:3 run $s.src -i 0.2 -d "$work/src.$s" "$work/evil" $ROUNDS
        as_nobody mkdir -m 0777 pub/ckpt.$s
        cp -r src.$s/. pub/ckpt.$s/ && chown -R nobody:nogroup pub/ckpt.$s && chmod -R a+rwX pub/ckpt.$s
        : >$s.out; : >$s.err
        restart $s "$work/pub/ckpt.$s"
        expect $s '((rc == 1))' "--restart exited $rc, not 1"
        expect $s '[[ ! -s $s.out ]]' "--restart ran the planted job"
        expect $s 'grep -q "refusing checkpoint folder" $s.err' "no refusal" ;;
    replaced-image)
        stopped $s "$work/ckpt.$s"
        stopped $s.other "$work/ckpt.$s.other" $((ROUNDS * 2))
        cp "$(root_image ckpt.$s.other 3)" "$(root_image ckpt.$s 3)"
        restart $s "$work/ckpt.$s"
        expect $s '((rc == 0))' "--restart exited $rc"
        expect $s 'grep -q "checkpoint 3 refused: .*written by job" $s.err' "the other job's image was not refused"
        expect $s 'grep -q "restarted the job from checkpoint 2" $s.err' "did not resume from checkpoint 2"
        expect $s 'cmp -s expected $s.out' "output differs from the plain run" ;;
    foreign-epoch)
        stopped $s "$work/ckpt.$s"
        cp "$(root_image ckpt.$s 2)" "$(root_image ckpt.$s 3)"
        restart $s "$work/ckpt.$s"
        expect $s '((rc == 0))' "--restart exited $rc"
        expect $s 'grep -q "checkpoint 3 refused: .*an image of epoch 2" $s.err' "checkpoint 2's image was taken for 3's"
        expect $s 'grep -q "restarted the job from checkpoint 2" $s.err' "did not resume from checkpoint 2"
        expect $s 'cmp -s expected $s.out' "output differs from the plain run" ;;
    rebuilt)
        cp pingpong app.$s
        CKPT_FAULT=coord-die-after-commit:3 run $s -i 0.2 -d "$work/ckpt.$s" "$work/app.$s" $ROUNDS
        echo >>app.$s       # still runs, but is no longer what the job ran
        size=$(stat -c %s $s.out)
        restart $s "$work/ckpt.$s"
        expect $s '((rc == 1))' "--restart exited $rc, not 1"
        expect $s 'grep -q "refusing to restart .*app.$s: it is not the executable the job ran" $s.err' "no refusal"
        expect $s '(($(stat -c %s $s.out) == size))' "the changed program ran" ;;
    corrupt-commit)
        stopped $s "$work/ckpt.$s"
        printf 'X' | dd of=ckpt.$s/epoch.3/commit bs=1 seek=20 conv=notrunc 2>/dev/null
        restart $s "$work/ckpt.$s"
        expect $s '((rc == 0))' "--restart exited $rc"
        expect $s 'grep -q "damaged commit record.*epoch.3/commit: checksum mismatch" $s.err' "the damaged record went unmentioned"
        expect $s 'grep -q "restarted the job from checkpoint 2" $s.err' "did not resume from checkpoint 2"
        expect $s 'cmp -s expected $s.out' "output differs from the plain run" ;;
    pidfile-symlink)
        echo precious >victim
        mkdir -m 0700 ckpt.$s
        ln -s "$work/victim" ckpt.$s/ckpt-run.pid
        run $s -i 0.2 -d "$work/ckpt.$s" "$work/pingpong" $ROUNDS
        expect $s '[[ $(cat victim) == precious ]]' "the file the symlink names was written"
        expect $s '((rc == 1))' "ckpt-run exited $rc, not 1"
        expect $s 'grep -q "ckpt-run.pid: a symlink, refused" $s.err' "no refusal" ;;
    stale-pid)
        sleep 60 &
        victim=$!
        mkdir -m 0700 ckpt.$s
        echo $victim >ckpt.$s/ckpt-run.pid
        rc=0
        "$ckpt_ctl" stop "$work/ckpt.$s" 2>$s.err || rc=$?
        sleep 0.2
        expect $s 'kill -0 $victim 2>/dev/null' "ckpt-ctl signalled pid $victim, which the stale pid file named"
        expect $s '((rc == 1))' "ckpt-ctl exited $rc, not 1"
        expect $s 'grep -q "no running job" $s.err' "no message"
        kill $victim 2>/dev/null || true
        wait $victim 2>/dev/null || true ;;
    two-jobs)
        background $s "$work/ckpt.$s" || echo "# $s: no commit from the first job"
        rc2=0
        timeout -k 5 60 "$ckpt_run" -v -i 0.2 -d "$work/ckpt.$s" "$work/pingpong" $ROUNDS >$s.2.out 2>$s.2.err || rc2=$?
        settle
        expect $s '((rc2 == 1))' "the second job exited $rc2, not 1"
        expect $s 'grep -q "in use by another job (ckpt-run pid $pid)" $s.2.err' "no refusal naming pid $pid"
        expect $s '[[ ! -s $s.2.out ]]' "the second job ran"
        expect $s '((rc == 0))' "the first job exited $rc"
        expect $s 'cmp -s expected $s.out' "the first job's output differs from the plain run" ;;
    second-run)
        stopped $s.first "$work/ckpt.$s" $((ROUNDS * 2))
        if background $s "$work/ckpt.$s"; then
            v=$(jobtest_tasks "$work/" | awk "NR == 1")
            [[ -n $v ]] && kill -9 "$v"
            jobtest_wait_for $s.err "recovered from checkpoint\|from the beginning" $pid || true
        fi
        settle
        expect $s '((rc == 0))' "ckpt-run exited $rc"
        expect $s 'grep -q "held the checkpoints of an earlier job: moved to .*/job\.[0-9a-f]*" $s.err' "no word of the earlier job"
        expect $s 'ls -d ckpt.$s/job.*/epoch.3 >/dev/null 2>&1' "the earlier job's checkpoint 3 was not kept aside"
        expect $s '(($(jobtest_recoveries $s.err) == 1))' "not one recovery"
        expect $s 'jobtest_resumed $s.err' "did not resume from its own last checkpoint"
        expect $s 'cmp -s expected $s.out' "output differs from the plain run" ;;
    restart-missing)
        rc=0
        "$ckpt_run" --restart "$work/nope" >$s.out 2>$s.err || rc=$?
        expect $s '((rc == 1))' "--restart exited $rc, not 1"
        expect $s '[[ ! -e nope ]]' "--restart created $work/nope"
        expect $s 'grep -q "nope: No such file" $s.err' "no message" ;;
    killed)
        # a virtual machine of its own, which ckpt-run starts (and must halt)
        own=$PVM_VMID.own
        addr=$PVM_TMP/pvmd.$(id -u).$own
        PVM_VMID=$own background $s "$work/ckpt.$s" || echo "# $s: no commit"
        expect $s '[[ -e $addr ]]' "ckpt-run started no pvmd of its own"
        kill -9 $pid
        wait $pid 2>/dev/null || true
        jobtest_release
        for ((i = 0; i < 100; i++)); do [[ -e $addr ]] || break; sleep 0.05; done
        expect $s '[[ ! -e $addr ]]' "the private pvmd outlived the SIGKILLed ckpt-run"
        [[ ! -e $addr ]] || (echo halt | PVM_VMID=$own timeout -k 2 5 pvm) >/dev/null 2>&1 </dev/null || true
        rc=0
        "$ckpt_ctl" checkpoint "$work/ckpt.$s" 2>$s.ctl || rc=$?
        expect $s '((rc == 1)) && grep -q "no running job" $s.ctl' "ckpt-ctl found a job" ;;
    *) echo "trust.sh: no scenario $s" >&2; exit 2 ;;
    esac
    jobtest_report $s $ok $s.err
done
echo "$passed passed, $failed failed"
((failed == 0))
