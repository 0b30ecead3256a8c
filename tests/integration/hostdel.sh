#!/usr/bin/env bash
# hostdel.sh: a host of the virtual machine goes away under a running job.
# The test's private machine gets a second host, a second pvmd on this same
# computer (tests/lib/pvmvm.sh --hosts: every 127.x.y.z is loopback), and
# `ckpt-run -n 4` runs jacobi across both (PVM spreads PvmTaskDefault spawns
# over the hosts).  After its second committed checkpoint the second host is
# lost; ckpt-run must say which host was lost and which of its tasks ran
# there, recover once, and print exactly what the plain run prints.
#
#   delete   the console's `delete HOST`
#   term     SIGTERM to that host's pvmd (it tells the master before it dies)
#   added    the host joins while the job runs (ckpt-run watches it from its
#            PvmHostAdd notice); a task killed then makes the restarted tasks
#            spread over both hosts; then `delete HOST`: two recoveries
# Run by name only (tests/integration/hostloss.sh does the same to hosts that
# are network namespaces, in the default run):
#   pause    SIGSTOP to that host's pvmd and tasks for 1.5 s, then SIGCONT: a
#            slow host is not a lost one: no host lost, no recovery, same
#            output
#   kill     SIGKILL to that host's pvmd: nothing tells the master, which
#            notices only when its packets to that host time out, after
#            about 189 s (PVM 3.4.6: 28 retries; measured here); ckpt-run
#            notices that the host's heartbeat (ckpt-beat) stopped, deletes it
#            and recovers after --host-timeout (default 3 s)
#   stop     SIGSTOP to that host's pvmd: a host frozen or cut off, silent;
#            noticed the same way (its pvmd and tasks are SIGKILLed after)
#
# Checked for each: the host's pvmd and the tasks that ran there are gone,
# one recovery (two for added) from a committed checkpoint, the lost-host line names
# the host and exactly the job's tasks ps showed on it, same output as the
# plain run, exit status 0.  ckpt-run notices from PVM's own notice (delete,
# term, added) or from the heartbeat (kill, stop), never from PVM's time-out:
# the delay is printed, and the bound (30 s, far below the 189 s of a
# time-out) does not depend on the machine's speed.
# The job's tasks are held at their exit (CKPT_HOLD) until the loss is
# noticed, so a fast machine cannot finish the job first.
#
#   hostdel.sh [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
# (kill, stop and pause are run by name: hostloss.sh loses real hosts that way)
((${#scenarios[@]})) || scenarios=(delete term added)
ARGS=(300 20000)        # about 5 s on two cores, 4 tasks
NOTICE_MS=30000

jobtest_build hostdel "$top/samples/jacobi/jacobi.c" 2 plain jacobi
pvmvm_start --hosts --wd "$work" --ep "$work"
cd "$work"
pvmvm_run 120 "$work/plain" "${ARGS[@]}" 4 >expected 2>plain.err || pvmvm_fail "plain run failed: $(cat plain.err)"
pvmvm_wait_idle 10 || true

now_ms() { date +%s%3N; }

# wait_for FILE PATTERN SECONDS PID: true once PATTERN is in FILE; false on
# timeout or when PID (ckpt-run) has ended first.
wait_for() {
    local deadline=$((SECONDS + $3))
    until grep -qs -- "$2" "$1"; do
        ((SECONDS < deadline)) && kill -0 "$4" 2>/dev/null || return 1
        sleep 0.02
    done
}

# host_tasks ADDR: "TID PID" of each task of the job (not ckpt-run's
# heartbeat) the console's ps -a shows on host ADDR
host_tasks() {
    pvmvm_console 'ps -a' | awk -v h="$1" '$1 == h && $2 ~ /^[0-9a-f]+$/ { print $2 }' |
        while read -r tid; do
            pvmvm_tasks | awk -v t="$tid" '$1 == t && $3 !~ /ckpt-beat$/ { print $1, $2 }'
        done
}

committed() { grep -sc 'committed:' "$1" || true; }

fail() { echo "# $name: $*"; ok=0; }

# one NAME ADDR: a job, and host ADDR lost the NAME way while it runs
one() {
    local addr=$2 pid hostpid tids pids t0 t1 rc=0 got p victim k recoveries=1
    name=$1 ok=1
    [[ $name == added ]] || pvmvm_add_host "$addr" || pvmvm_fail "cannot add host $addr"
    rm -rf "ckpt.$name"
    jobtest_hold "$work/hold"
    "$ckpt_run" -v -i 0.3 -d "$work/ckpt.$name" -n 4 "$work/jacobi" "${ARGS[@]}" >"$name.out" 2>"$name.err" &
    pid=$!
    wait_for "$name.err" "checkpoint 2 committed" 60 $pid || fail "no second checkpoint before the job ended"
    if [[ $name == added ]]; then
        pvmvm_add_host "$addr" || pvmvm_fail "cannot add host $addr"
        wait_for "$name.err" "host $addr (t[0-9a-f]*) joined" 5 $pid || fail "ckpt-run did not see $addr join"
        victim=$(pvmvm_tasks | awk -v x="$work/jacobi" '$3 == x { print $2 }' | head -n 1)
        echo "# $name: killing task pid $victim"
        kill -9 "$victim"
        wait_for "$name.err" "recovered from checkpoint" 30 $pid || fail "no recovery from the kill"
        k=$(committed "$name.err")
        until (($(committed "$name.err") > k)); do kill -0 $pid 2>/dev/null || break; sleep 0.02; done
        recoveries=2
    fi
    hostpid=$(pvmvm_host_pid "$addr")
    mapfile -t on_host < <(host_tasks "$addr")
    ((${#on_host[@]})) || fail "no task of the job runs on $addr (PVM placed them all on the master)"
    tids=$(printf '%s\n' "${on_host[@]}" | awk '{ print "t" $1 }' | sort | paste -sd' ')
    pids=$(printf '%s\n' "${on_host[@]}" | awk '{ print $2 }')
    echo "# $name: tasks on $addr (pvmd pid $hostpid): $tids"
    t0=$(now_ms)
    case $name in
    delete | added) pvmvm_console "delete $addr" >/dev/null ;;
    term) kill -TERM "$hostpid" ;;
    kill) kill -KILL "$hostpid" ;;
    stop) kill -STOP "$hostpid" ;;
    pause)
        kill -STOP "$hostpid" $pids
        sleep 1.5       # (the pause is what is tested, not a wait for an event)
        kill -CONT "$hostpid" $pids
        paused "$pid"
        return ;;
    esac
    if wait_for "$name.err" "host $addr .* left the virtual machine" 300 $pid; then
        t1=$(now_ms)
        echo "# $name: ckpt-run noticed the loss of $addr after $((t1 - t0)) ms:"
        grep "left the virtual machine" "$name.err" | sed 's/^/#   /'
        if ((t1 - t0 > NOTICE_MS)); then
            fail "noticed after $((t1 - t0)) ms, more than $NOTICE_MS"
        fi
    else
        fail "ckpt-run never said that $addr left"
    fi
    # a frozen host stays frozen: what the test started there, it ends
    [[ $name == stop ]] && kill -KILL "$hostpid" $pids
    jobtest_release
    # the whole job runs on without the host
    local deadline=$((SECONDS + 120))
    while kill -0 $pid 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 $pid 2>/dev/null; then
        kill -9 $pid
        fail "ckpt-run still running after 120 s"
    fi
    wait $pid || rc=$?
    ((rc == 0)) || fail "ckpt-run exited $rc"
    cmp -s expected "$name.out" || { fail "output differs from the plain run"; diff expected "$name.out" | head -n 5 || true; }
    # (after a recovery the line adds the tids the tasks run as: those are what ps shows)
    got=$(sed -n "s/.*host $addr (t[0-9a-f]*) left the virtual machine[^;]*; tasks of the job that ran there: //p" "$name.err" |
        sed 's/.*(running as \(.*\))$/\1/' | tr ' ' '\n' | sort | paste -sd' ')
    [[ $got == "$tids" ]] || fail "the lost-host line names '$got', ps showed '$tids' on $addr"
    grep -q "recovered from checkpoint [0-9]" "$name.err" || fail "no recovery from a checkpoint"
    grep -q "job ended after .* $recoveries recover" "$name.err" ||
        fail "not $recoveries recoveries: $(grep -o '[0-9]* recover[a-z]* (' "$name.err")"
    pvmvm__wait_gone "$hostpid" 5 || fail "the pvmd of $addr (pid $hostpid) is still running"
    for p in $pids; do
        pvmvm__wait_gone "$p" 5 || fail "task pid $p of $addr is still running"
    done
    jobtest_report "$name" $ok "$name.err"
}

# paused PID: the rest of scenario pause, ckpt-run being PID: the job ends
# with no host lost and no recovery
paused() {
    local pid=$1 rc=0
    jobtest_release
    local deadline=$((SECONDS + 120))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "ckpt-run still running after 120 s"; }
    wait "$pid" || rc=$?
    ((rc == 0)) || fail "ckpt-run exited $rc"
    cmp -s expected "$name.out" || fail "output differs from the plain run"
    ! grep "left the virtual machine" "$name.err" || fail "a paused host was taken for a lost one"
    grep -q "job ended after .* 0 recoveries" "$name.err" || fail "a recovery after a pause"
    jobtest_report "$name" $ok "$name.err"
}

# Each scenario adds a host of its own: a killed pvmd leaves its files behind.
# After a host lost silently, the master pvmd adds no host until its own
# time-out for the lost one (190 s measured: pvm_addhosts waits that long),
# so the next scenario gets a virtual machine of its own.
n=2 silent=0
for s in "${scenarios[@]}"; do
    if ((silent)); then
        pvmvm_stop
        pvmvm_start --hosts --wd "$work" --ep "$work"
        silent=0
    fi
    [[ $s == kill || $s == stop ]] && silent=1
    case $s in
    delete | term | kill | stop | pause | added) one "$s" "127.0.0.$n" ;;
    *) echo "hostdel.sh: no scenario $s" >&2; exit 2 ;;
    esac
    n=$((n + 1))
done
echo "$passed passed, $failed failed"
((failed == 0))
