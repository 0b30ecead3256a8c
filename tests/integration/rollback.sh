#!/usr/bin/env bash
# rollback.sh: what a rollback must leave as the application and the user
# knew it.  Each scenario runs a small real PVM program (tests/integration/
# progs) under `ckpt-run -v`; a failure is injected on a job event (right
# after "checkpoint K committed", a task killed by pid, the kill checked to
# have landed), and the job must resume from the checkpoint it names.
#
#   notify       progs/notify.c: a master waits for PvmTaskExit notices of its
#                workers; a worker is killed after checkpoint 2.  The master
#                must still get every worker's exit notice, with the ids it
#                knows, and none for the killed incarnation.
#   notify-root  the same with the master itself killed.
#   groups       progs/grouploop.c: tasks join and leave a group in a loop, a
#                checkpoint every 0.2 s must commit (pvm_joingroup and
#                pvm_lvgroup are safe points), and a task killed after
#                checkpoint 3 resumes from a checkpoint, not from the start.
#   sharedlog    `ckpt-run -v ... >log 2>&1`: the root task, restarted, must
#                not erase ckpt-run's own lines from the shared log, and the
#                program's own output must still not be repeated.
#   envdir       ckpt-run takes its checkpoint folder from CKPT_DIR, and
#                --dir wins over it.
#
#   rollback.sh [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(notify notify-root groups sharedlog envdir)
JOB_TIMEOUT=${JOB_TIMEOUT:-60}

work=$(mktemp -d "${TMPDIR:-/tmp}/rollback.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
pvmvm_start --wd "$work" --ep "$work" --ep "${PVM_ROOT:-/usr/lib/pvm3}/lib"   # pvmgs, the group server
cd "$work"

fail() { echo "# $name: $*"; ok=0; }

# idle: waits (10 s at most) until no task but the group server runs, which
# PVM leaves running once a program has used groups
idle() {
    local deadline=$((SECONDS + 10))
    while pvmvm_tasks | awk '$3 !~ /pvmgs$/' | grep -q .; do
        ((SECONDS < deadline)) || return 0
        sleep 0.05
    done
}

# report NAME OK ERR: as jobtest_report, waiting for idle() only
report() {
    if (($2)); then
        passed=$((passed + 1)); echo "ok - $1"
    else
        failed=$((failed + 1)); echo "not ok - $1"; grep -v committed "$3" | tail -n 15 || true
        echo "# (pvmd log:)"; grep -v 'committed\|ready\|vm (' "$PVMVM_LOG" | tail -n 10 || true
    fi
    idle
}

# build PROG [SRC]: $work/PROG.plain (cc) and $work/PROG (ckpt-cc) from SRC
# (default progs/PROG.c)
build() {
    local src=${2:-$here/progs/$1.c}
    [[ -x $work/$1 ]] && return 0
    cc -O1 -o "$work/$1.plain" "$src" -lpvm3 -lgpvm3
    "$ckpt_cc" -O1 -Wno-ckpt-unsaved -o "$work/$1" "$src"
}

# wait_for FILE PATTERN SECONDS PID: true once PATTERN is in FILE; false on
# timeout or when PID (ckpt-run) has ended first.
wait_for() {
    local deadline=$((SECONDS + $3))
    until grep -qs -- "$2" "$1"; do
        ((SECONDS < deadline)) && kill -0 "$4" 2>/dev/null || return 1
        sleep 0.02
    done
}

# finish PID ERRFILE: waits (bounded) for ckpt-run PID; sets rc; kills it on timeout
finish() {
    local deadline=$((SECONDS + JOB_TIMEOUT))
    rc=0
    while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    if kill -0 "$1" 2>/dev/null; then
        fail "the job did not end within $JOB_TIMEOUT s"
        kill -TERM "$1" 2>/dev/null || true
        sleep 1
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" || rc=$?
}

# victim WHO CKPT_RUN_PID EXE: the pid of the job's root task (WHO=root: the
# program ckpt-run runs, its child) or of its newest other task (WHO=worker)
victim() {
    local root
    root=$(ps -o pid= --ppid "$2" | awk -v x="$3" '{ print $1 }' | while read -r p; do
        [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$3" ]] && echo "$p"; done | head -n 1)
    if [[ $1 == root ]]; then
        echo "$root"
    else
        pvmvm_tasks | awk -v x="$3" -v r="$root" '$3 == x && $2 != r { print $2 }' | tail -n 1
    fi
}

# kill_after ERR K WHO PID EXE: after "checkpoint K committed", SIGKILL the
# WHO task; checks that the kill landed and that the job recovered from a
# checkpoint at least K.
kill_after() {
    local err=$1 k=$2 v got
    wait_for "$err" "checkpoint $k committed" 30 "$4" || { fail "no checkpoint $k before the job ended"; return; }
    v=$(victim "$3" "$4" "$5")
    [[ -n $v ]] || { fail "no $3 task to kill"; return; }
    # the task re-executed itself (runtime/layout.c): ps must still show its program's name
    local comm
    comm=$(cat "/proc/$v/comm" 2>/dev/null || true)
    [[ $comm == "$(basename "$5" | cut -c1-15)" ]] || fail "task $v is named '$comm' (ps), not after $5"
    echo "# $name: killing the $3 task, pid $v, after checkpoint $k"
    kill -9 "$v" 2>/dev/null || { fail "pid $v was gone before the kill"; return; }
    pvmvm__wait_gone "$v" 5 || fail "pid $v survived SIGKILL"
    wait_for "$err" "recovered from checkpoint" 30 "$4" || { fail "no recovery from a checkpoint"; return; }
    got=$(sed -n 's/.*recovered from checkpoint \([0-9]*\).*/\1/p' "$err" | head -n 1)
    ((got >= k)) || fail "recovered from checkpoint $got, older than the committed $k"
}

notify() {
    local who=$1 pid
    build notify
    pvmvm_run 60 "$work/notify.plain" 3 150 >notify.expected 2>notify.plain.err ||
        pvmvm_fail "plain run failed: $(cat notify.plain.err)"
    idle
    rm -rf "ckpt.$name"
    "$ckpt_run" -v -i 0.2 -d "$work/ckpt.$name" "$work/notify" 3 150 >"$name.out" 2>"$name.err" &
    pid=$!
    kill_after "$name.err" 2 "$who" $pid "$work/notify"
    finish $pid
    ((rc == 0)) || fail "ckpt-run exited $rc"
    grep -q "job ended after .* 1 recovery" "$name.err" || fail "not exactly one recovery"
    cmp -s notify.expected "$name.out" || { fail "output differs from the plain run"; diff notify.expected "$name.out" | head -n 8 || true; }
}

groups() {
    local pid
    build grouploop
    pvmvm_run 60 "$work/grouploop.plain" 3 400 >groups.expected 2>groups.plain.err ||
        pvmvm_fail "plain run failed: $(cat groups.plain.err)"
    idle
    rm -rf "ckpt.$name"
    "$ckpt_run" -v -i 0.2 -d "$work/ckpt.$name" "$work/grouploop" 3 400 >"$name.out" 2>"$name.err" &
    pid=$!
    kill_after "$name.err" 3 worker $pid "$work/grouploop"
    finish $pid
    ((rc == 0)) || fail "ckpt-run exited $rc"
    grep -q "job ended after .* 1 recovery" "$name.err" || fail "not exactly one recovery"
    cmp -s groups.expected "$name.out" || { fail "output differs from the plain run"; diff groups.expected "$name.out" | head -n 8 || true; }
}

sharedlog() {
    local pid k n
    build jacobi "$top/samples/jacobi/jacobi.c"
    pvmvm_run 60 "$work/jacobi.plain" 300 8000 3 200 >sharedlog.expected 2>sharedlog.plain.err ||
        pvmvm_fail "plain run failed: $(cat sharedlog.plain.err)"
    idle
    rm -rf "ckpt.$name"
    "$ckpt_run" -v -i 0.2 -d "$work/ckpt.$name" "$work/jacobi" 300 8000 3 200 >"$name.log" 2>&1 &
    pid=$!
    kill_after "$name.log" 2 worker $pid "$work/jacobi"
    finish $pid
    cp "$name.log" "$name.err"      # for the report
    ((rc == 0)) || fail "ckpt-run exited $rc"
    grep -q "job ended after .* 1 recovery" "$name.log" || fail "not exactly one recovery"
    # The restarted root's mark came before ckpt-run's line for its checkpoint.
    k=$(sed -n 's/.*recovered from checkpoint \([0-9]*\).*/\1/p' "$name.log" | head -n 1)
    grep -q "^ckpt-run: checkpoint $k committed" "$name.log" ||
        fail "ckpt-run's line for checkpoint $k, the one the job recovered from, is gone from the log"
    n=$(sed -n 's/.*: \([0-9]*\) checkpoints\{0,1\} committed.*/\1/p' "$name.log")
    (($(grep -c '^ckpt-run: checkpoint [0-9]* committed' "$name.log") == n)) ||
        fail "$n checkpoints committed, $(grep -c '^ckpt-run: checkpoint [0-9]* committed' "$name.log") lines say so"
    # and the program's own output is there once, in order
    grep -v '^ckpt-run: ' "$name.log" >sharedlog.got || true
    cmp -s sharedlog.expected sharedlog.got || { fail "the program's output differs from the plain run"; diff sharedlog.expected sharedlog.got | head -n 8 || true; }
}

# has_commit DIR: DIR holds a committed checkpoint
has_commit() { compgen -G "$1/epoch.*/commit" >/dev/null; }

envdir() {
    local pid
    build notify
    mkdir -p envdir.cwd
    rm -rf envdir.env envdir.opt
    # from the environment (relative: to ckpt-run's folder)
    (cd envdir.cwd && CKPT_DIR=../envdir.env exec "$ckpt_run" -v -i 0.2 "$work/notify" 2 150 \
        >../"$name.out" 2>../"$name.err") || fail "ckpt-run exited $?"
    has_commit envdir.env || fail "no committed checkpoint in \$CKPT_DIR"
    [[ ! -e envdir.cwd/ckpt.notify ]] || fail "ckpt-run used ./ckpt.notify, not \$CKPT_DIR"
    # the command line wins
    (cd envdir.cwd && CKPT_DIR=../envdir.env2 exec "$ckpt_run" -v -i 0.2 -d ../envdir.opt "$work/notify" 2 150 \
        >../"$name.out" 2>>../"$name.err") || fail "ckpt-run --dir exited $?"
    has_commit envdir.opt || fail "no committed checkpoint in the --dir folder"
    [[ ! -e envdir.env2 ]] || fail "ckpt-run used \$CKPT_DIR although --dir was given"
    "$ckpt_run" --help | grep -q 'CKPT_DIR' || fail "--help does not name CKPT_DIR"
}

for s in "${scenarios[@]}"; do
    name=$s ok=1
    case $s in
    notify) notify worker ;;
    notify-root) notify root ;;
    groups) groups ;;
    envdir) envdir ;;
    sharedlog) sharedlog ;;
    *) echo "rollback.sh: no scenario $s" >&2; exit 2 ;;
    esac
    report "$name" $ok "$name.err"
done
echo "$passed passed, $failed failed"
((failed == 0))
