# shellcheck shell=bash
# jobtest.sh: what the scripted job tests share (tests/integration/failures.sh,
# hostdel.sh, plainpeer.sh, forge.sh, stall.sh).  Source it after pvmvm.sh,
# with `top` set to the repository.
#
#   jobtest_options ARGS...
#       takes --ckpt-cc, --ckpt-run and --ckpt-ctl PATH (default: the tools in
#       $top/build) into ckpt_cc, ckpt_run and ckpt_ctl; any other argument,
#       and all after it, is left in JOBTEST_ARGS
#   jobtest_build NAME SRC OPT PLAIN CKPT
#       a fresh folder $work (removed at exit) holding SRC built at -OOPT by cc
#       into $work/PLAIN and by ckpt-cc into $work/CKPT
#   jobtest_report NAME OK ERR
#       "ok - NAME", or "not ok - NAME" and the tail of ERR (commit lines left
#       out) and of the pvmd log; counts into passed / failed; then waits for
#       the test's machine (if it started one) to be idle before the next
#       scenario
#
# Failures are injected on job events, never after a sleep, so that no test
# depends on the speed of the machine:
#   jobtest_hold FILE / jobtest_release
#       jobs started after jobtest_hold cannot end while FILE exists: their
#       tasks wait at their exit (CKPT_HOLD, proto/fault.c), still
#       checkpointing and recovering; jobtest_release lets them go
#   jobtest_wait_for FILE REGEX PID [COUNT [SECONDS]]
#       true once COUNT (default 1) lines of FILE match REGEX; false when PID
#       (ckpt-run) ended first, or after SECONDS (default 120: a hang)
#   jobtest_tasks DIR/          pids of the machine's tasks running a program
#                               from DIR (the program ckpt-run runs itself,
#                               which PVM lists without a name, included)
#   jobtest_kill_one DIR/       SIGKILL to the first of those tasks (says
#                               which); false if there is none
#   jobtest_start NAME [ckpt-run options...]
#       runs ckpt-run -v -d $work/ckpt.NAME OPTIONS JOBTEST_PROG... in the
#       background (pid in $pid; output in $work/NAME.out and .err), held at
#       its end (jobtest_hold) unless NOHOLD is set
#   jobtest_finish NAME [UNTIL]
#       once UNTIL shows in NAME.err (without UNTIL: once ckpt-run ended by
#       itself), lets the job end and waits for it; its exit status in $rc
#   jobtest_check NAME OUT ERR [PATTERN...]
#       reports NAME: OUT equals $work/expected and each PATTERN is in ERR
#   jobtest_commits ERR         checkpoints committed so far (ckpt-run -v)
#   jobtest_recoveries ERR      recoveries so far
#   jobtest_resumed ERR
#       true if every recovery in ckpt-run's messages resumed from the last
#       checkpoint committed before it, and none fell back to an older one
#       or to the beginning while one was committed; else says why

ckpt_cc=$top/build/instrument/ckpt-cc
ckpt_run=$top/build/tools/ckpt-run
ckpt_ctl=$top/build/tools/ckpt-ctl
JOBTEST_ARGS=()
passed=0 failed=0

jobtest_options() {
    while (($#)); do
        case $1 in
        --ckpt-cc) ckpt_cc=$2; shift 2 ;;
        --ckpt-run) ckpt_run=$2; shift 2 ;;
        --ckpt-ctl) ckpt_ctl=$2; shift 2 ;;
        *) break ;;
        esac
    done
    JOBTEST_ARGS=("$@")
}

jobtest_build() {
    local name=$1 src=$2 opt=$3
    work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
    pvmvm_at_exit 'rm -rf "$work"'
    cc -O"$opt" -o "$work/$4" "$src" -lpvm3
    "$ckpt_cc" -O"$opt" -Wno-ckpt-unsaved -o "$work/$5" "$src"
}

jobtest_report() {
    local name=$1 ok=$2 err=$3
    if ((ok)); then
        passed=$((passed + 1)); echo "ok - $name"
    else
        failed=$((failed + 1)); echo "not ok - $name"; grep -v committed "$err" | tail -n 15 || true
        echo "# (pvmd log:)"; grep -v 'committed\|ready\|vm (' "$PVMVM_LOG" | tail -n 10 || true
    fi
    [[ -z $PVMVM_PID ]] || pvmvm_wait_idle 10 || true     # (no pvmd of the test's own: none to ask)
}

jobtest_hold() {
    JOBTEST_HOLD=$1
    : >"$JOBTEST_HOLD"
    export CKPT_HOLD=$JOBTEST_HOLD
}

jobtest_release() {
    [[ -n ${JOBTEST_HOLD:-} ]] && rm -f "$JOBTEST_HOLD"
    return 0
}

jobtest_wait_for() {
    local file=$1 re=$2 pid=$3 count=${4:-1} deadline=$((SECONDS + ${5:-120}))
    local n
    until n=$(grep -sc -- "$re" "$file"); ((${n:-0} >= count)); do
        kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)) || return 1
        sleep 0.01
    done
}

jobtest_tasks() {
    local tid pid cmd exe
    while read -r tid pid cmd; do
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
        [[ $exe == "$1"* ]] && echo "$pid"
    done < <(pvmvm_tasks)
    return 0
}

jobtest_kill_one() {
    local v
    v=$(jobtest_tasks "$1")
    v=${v%%$'\n'*}     # (not head: pipefail would fail the caller on its SIGPIPE)
    [[ -n $v ]] || return 1
    echo "# killing pid $v"
    kill -9 "$v"
}

jobtest_commits() { grep -sc '^ckpt-run: checkpoint [0-9]* committed' "$1" || true; }
jobtest_recoveries() { grep -sc 'recovered from checkpoint\|restarted the job from the beginning' "$1" || true; }

jobtest_resumed() {
    awk '
        /^ckpt-run: checkpoint [0-9]+ committed/ { last = $3 }
        /recovered from checkpoint [0-9]+/ {
            for (i = 1; i < NF; i++) if ($i == "checkpoint" && $(i - 1) == "from") k = $(i + 1)
            if (k != last) { printf "recovered from checkpoint %s, but %s was the last committed\n", k, last; bad = 1 }
        }
        /did not come back|from the beginning/ && last != "" { print "fell back: " $0; bad = 1 }
        END { exit bad }' "$1"
}

jobtest_start() {
    local name=$1
    shift
    rm -rf "$work/ckpt.$name"
    if [[ ${NOHOLD:-} ]]; then unset CKPT_HOLD; else jobtest_hold "$work/hold"; fi
    # (not pvmvm_run: a ckpt-run killed by an injected fault is no time-out)
    timeout -k 5 120 "$ckpt_run" -v -d "$work/ckpt.$name" "$@" "${JOBTEST_PROG[@]}" \
        >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
}

jobtest_finish() {
    local name=$1
    if [[ -n ${2:-} ]]; then
        jobtest_wait_for "$work/$name.err" "$2" $pid || echo "# $name: no '$2' before ckpt-run ended"
    else
        while kill -0 $pid 2>/dev/null; do sleep 0.05; done
    fi
    jobtest_release
    rc=0
    wait $pid || rc=$?
    ((rc == 0)) || echo "# $name: ckpt-run exited $rc"
}

jobtest_check() {
    local name=$1 out=$2 err=$3 ok=1
    shift 3
    cmp -s "$work/expected" "$out" || { ok=0; echo "# $name: output differs from the plain run"; diff "$work/expected" "$out" | head -n 5 || true; }
    for pat in "$@"; do
        grep -q -- "$pat" "$err" || { ok=0; echo "# $name: no '$pat' in ckpt-run's messages"; }
    done
    jobtest_report "$name" $ok "$err"
}
