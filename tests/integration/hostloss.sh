#!/usr/bin/env bash
# hostloss.sh: a host of a three-host virtual machine is lost under a running
# job, the way real hosts are lost.  Hosts are network namespaces of this
# computer (tests/lib/nshosts.sh: host 0 runs the master pvmd and ckpt-run,
# hosts 1 and 2 slave pvmds); `ckpt-run -n 4` runs jacobi
# over the three (PVM spreads the copies), and after a committed checkpoint
# one slave host is lost:
#
#   kill      its pvmd SIGKILLed
#   cut       its link down (it runs on, unreachable)
#   off       everything on it SIGKILLed (power off)
#   pause     every process on it stopped for 1.5 s, then continued: a slow
#             host, not a lost one: no recovery
#
# PVM itself notices such a loss only at its time-out, 182-346 s (measured,
# nshosts.sh); ckpt-run must notice from the host's heartbeat (ckpt-beat),
# within 30 s (the default --host-timeout is 3 s; the bound does not depend
# on the machine's speed), name the host and the job's tasks that ran there,
# recover from the last committed checkpoint onto the hosts left, and print
# exactly what the plain run prints.  Every scenario gets a machine of its
# own (the master adds no host until its time-out for a lost one has run).
#
#   hostloss.sh [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
#   hostloss.sh ... random N     N runs, each losing a random slave host in a
#                                random way (kill, cut, off) after a random
#                                commit (2 to 4): the kill suite's run
#                                (HOSTLOSS_SEED fixes the choices)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/nshosts.sh
. "$top/tests/lib/nshosts.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

nshosts_need_root
jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
# (kill and off by name, and in the random runs: the default run keeps to the
# loss PVM takes longest over, and the pause)
((${#scenarios[@]})) || scenarios=(cut pause)
if [[ ${scenarios[0]} == random ]]; then
    seed=${HOSTLOSS_SEED:-$$}
    RANDOM=$seed
    echo "# random runs, HOSTLOSS_SEED=$seed"
    kinds=(kill cut off)
    runs=()
    for ((i = 0; i < ${scenarios[1]:-20}; i++)); do runs+=("${kinds[RANDOM % 3]}:$((1 + RANDOM % 2)):$((2 + RANDOM % 3))"); done
    scenarios=("${runs[@]}")
fi
ARGS=(300 20000)        # about 5 s on two cores, 4 tasks
NOTICE_MS=30000

jobtest_build hostloss "$top/samples/jacobi/jacobi.c" 2 plain jacobi
cd "$work"
now_ms() { date +%s%3N; }
# job_tids K, job_pids K: the tids (tX, as ckpt-run names them) and the pids
# of the job's tasks on host K
job_tids() { nshosts_tasks "$1" "$work/jacobi" | awk '{ print "t" $1 }' | sort | paste -sd' '; }
job_pids() { nshosts_tasks "$1" "$work/jacobi" | awk '{ print $2 }' | paste -sd' '; }
# still_alive "PIDS" SECONDS: those of PIDS still running after SECONDS at most
still_alive() {
    local p left deadline=$((SECONDS + $2))
    while :; do
        left=
        for p in $1; do pvmvm_alive "$p" && left+=" $p"; done
        [[ -n $left && $SECONDS -lt $deadline ]] || break
        sleep 0.1
    done
    echo "${left# }"
}
fail() { echo "# $name: $*"; ok=0; }

# one KIND HOST COMMIT: a fresh machine, a job, host HOST lost the KIND way
# once checkpoint COMMIT is committed
one() {
    local kind=$1 host=$2 commit=$3 pid rc=0 t0 t1 addr tids got hostpid survivors late=
    name="$kind:$host:$commit" ok=1
    nshosts_start 3 --ep "$work" --wd "$work"
    addr=$(nshosts_addr "$host")
    [[ -s expected ]] || pvmvm_run 120 "$work/plain" "${ARGS[@]}" 4 >expected 2>plain.err ||
        pvmvm_fail "plain run failed: $(cat plain.err)"
    pvmvm_wait_idle 10 || true
    rm -rf "ckpt.$kind"
    jobtest_hold "$work/hold"
    # (on host 0, as on a real master: the hosts' ckpt-beats reach it directly)
    nshosts_exec 0 "$ckpt_run" -v -i 0.3 -d "$work/ckpt.$kind" -n 4 "$work/jacobi" "${ARGS[@]}" >"$kind.out" 2>"$kind.err" &
    pid=$!
    jobtest_wait_for "$kind.err" "checkpoint $commit committed" $pid 1 60 || fail "no checkpoint $commit"
    # the job's tasks on that host (PVM's tids, as ckpt-run names them)
    tids=$(job_tids "$host")
    [[ -n $tids ]] || fail "no task of the job on host $host ($addr)"
    echo "# $name: tasks on $addr: $tids"
    # the job's processes on the other slave host, which the recovery must end
    survivors=$(job_pids $((3 - host)))
    hostpid=$(nshosts_pvmd_pid "$host")
    t0=$(now_ms)
    case $kind in
    kill) nshosts_kill_pvmd "$host" "$hostpid" ;;
    cut) nshosts_cut "$host" ;;
    off) nshosts_kill_all "$host" ;;
    pause)
        nshosts_pause "$host"
        sleep 1.5       # (the pause is what is tested, not a wait for an event)
        nshosts_resume "$host" ;;
    esac
    if [[ $kind == pause ]]; then
        jobtest_release
    elif jobtest_wait_for "$kind.err" "host $addr .* left the virtual machine" $pid 1 300; then
        t1=$(now_ms)
        echo "# $name: ckpt-run noticed after $((t1 - t0)) ms"
        ((t1 - t0 <= NOTICE_MS)) || fail "noticed after $((t1 - t0)) ms, more than $NOTICE_MS"
        # PVM's kill reaches the other hosts seconds late then (15 s seen):
        # the old tasks there must be gone by the time the job runs again
        if jobtest_wait_for "$kind.err" "recovered from checkpoint" $pid 1 60; then
            late=$(still_alive "$survivors" 5)
        fi
        jobtest_release
    else
        fail "ckpt-run never said that $addr left"
        jobtest_release
    fi
    local deadline=$((SECONDS + 120))
    while kill -0 $pid 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill -9 $pid; fail "ckpt-run still running after 120 s"; }
    wait $pid || rc=$?
    ((rc == 0)) || fail "ckpt-run exited $rc"
    cmp -s expected "$kind.out" || { fail "output differs from the plain run"; diff expected "$kind.out" | head -n 5 || true; }
    if [[ $kind == pause ]]; then
        ! grep "left the virtual machine" "$kind.err" || fail "a paused host was taken for a lost one"
        grep -q "job ended after .* 0 recoveries" "$kind.err" || fail "a recovery after a pause"
    else
        got=$(sed -n "s/.*host $addr (t[0-9a-f]*) left the virtual machine[^;]*; tasks of the job that ran there: //p" "$kind.err" |
            sed 's/.*(running as \(.*\))$/\1/' | tr ' ' '\n' | sort | paste -sd' ')
        [[ $got == "$tids" ]] || fail "the lost-host line names '$got', the host ran '$tids'"
        ! grep "left the virtual machine" "$kind.err" | grep -v "host $addr " ||
            fail "a live host was taken for a lost one"
        jobtest_resumed "$kind.err" || fail "did not resume from the last committed checkpoint"
        grep -q "job ended after .* 1 recover" "$kind.err" || fail "not exactly one recovery"
        [[ -z $late ]] || fail "tasks of the job before the recovery still ran on host $((3 - host)) after it: $late"
    fi
    jobtest_report "$name" $ok "$kind.err"
    nshosts_stop
}

for s in "${scenarios[@]}"; do
    case ${s%%:*} in
    kill | cut | off | pause)
        IFS=: read -r kind host commit <<<"$s"
        one "$kind" "${host:-2}" "${commit:-2}" ;;
    *) echo "hostloss.sh: no scenario $s" >&2; exit 2 ;;
    esac
done
echo "# hostloss: $passed passed, $failed failed"
((failed == 0))
