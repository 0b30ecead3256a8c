#!/usr/bin/env bash
# zdtm.sh: one failure-injection test, in the spirit of CRIU's zdtm.  A small
# real PVM program is built twice (cc and ckpt-cc); its plain run under a
# private pvmd gives the expected output and exit status; then the
# instrumented build runs under ckpt-run, once without failures (which must
# not recover from anything) and RUNS times with KILLS random tasks killed by
# SIGKILL, and every run must print exactly the expected output and exit as
# the plain run did.
#
# Kills are injected on job events, so that no run depends on the speed of the
# machine: each waits for one or two more commits (ckpt-run -v), then for a
# random moment within the checkpoint interval, kills a random task of the job,
# and waits for the recovery it causes; meanwhile the tasks ckpt-run started
# are held at their exit (CKPT_HOLD), so the job cannot end first.  Every
# recovery must resume from the last checkpoint committed before it.
#
#   zdtm.sh SOURCE|DIR [--exe NAME] [--runs N] [--kills K] [--interval S] [--ckpt-cc PATH]
#           [--ckpt-run PATH] [--spmd N --plain-args "ARGS"] [--log-off]
#           [--fault WHAT] [--no-pragmas] -- ARGS...
#
# A DIR (a sample) is built with its own Makefile, `make CC=cc` and
# `make CC=ckpt-cc`, in copies; --exe names the program to run (default: the
# folder's name).
# --spmd N runs `ckpt-run -n N PROG ARGS` (N sibling copies); the reference is
# then the plain build run directly with --plain-args (an SPMD sample that
# spawns its own siblings when started alone prints the same).
#
# --log-off runs every job with CKPT_LOG=off (no sender log) and turns the
# expectation around: the seed's claim is that recovery then loses messages in
# transit, so at least one run with a recovery must come out wrong (a message
# reported lost, a wrong output, or a job that never ends); the clean run must
# still be right.
#
# --fault sets CKPT_FAULT for the instrumented runs (proto/fault.c).
#
# --expect-incremental: at least one run must recover from a checkpoint whose
# images are (some of them) incremental, loaded through their chain (the kill
# may land after a later, full one).
#
# --no-pragmas removes every `#pragma CKPT_...` line from the instrumented
# build's copy of the sources: the program must recover exactly all the same
# (what ckpt-cc saves without being told).
#
# --kill-after REGEX kills as soon as ckpt-run's -v output matches REGEX once
# more (e.g. 'committed': right after a commit, so that every recovery rolls
# back to a cut, for the in-transit tests a cut with messages in transit)
# rather than at a random moment after a commit.  An event the job may or may
# not produce (a producer leaving just after a cut) is waited for through 20
# commits at most, then the kill follows a commit; at least one run of the
# test must have had the event.
#
# ZDTM_SEED fixes the random choices (printed at the start); ZDTM_RUNS
# overrides --runs (the full suite sets it to 20).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

src=${1:?usage: zdtm.sh SOURCE [options] -- ARGS}
shift
log_off=0 no_pragmas=0 expect_incr=0 incr_runs=0 kill_after= exe= runs=3 kills=1 interval=0.3 spmd=0 plain_args= ckpt_cc=$top/build/instrument/ckpt-cc ckpt_run=$top/build/tools/ckpt-run
while (($#)); do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --ckpt-cc) ckpt_cc=$2; shift 2 ;;
    --ckpt-run) ckpt_run=$2; shift 2 ;;
    --spmd) spmd=$2; shift 2 ;;
    --exe) exe=$2; shift 2 ;;
    --log-off) log_off=1; shift ;;
    --kill-after) kill_after=$2; shift 2 ;;
    --fault) export CKPT_FAULT=$2; shift 2 ;;
    --plain-args) plain_args=$2; shift 2 ;;
    --no-pragmas) no_pragmas=1; shift ;;
    --expect-incremental) expect_incr=1; shift ;;
    --) shift; break ;;
    *) echo "zdtm.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
args=("$@")
if ((spmd > 0)); then
    read -r -a pargs <<<"$plain_args"
    launch=(-n "$spmd")
else
    pargs=("${args[@]}")
    launch=()
fi
runs=${ZDTM_RUNS:-$runs}
seed=${ZDTM_SEED:-$RANDOM}
RANDOM=$seed
name=${exe:-$(basename "$src" .c)}
echo "# zdtm $name: $runs runs, $kills kill(s) each, interval ${interval}s, seed $seed"

work=$(mktemp -d "${TMPDIR:-/tmp}/zdtm-$name.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
# strip_pragmas DIR: the CKPT pragmas out of DIR's sources (--no-pragmas)
strip_pragmas() {
    local f
    for f in "$1"/*.[ch]; do
        sed -i '/^[[:space:]]*#[[:space:]]*pragma[[:space:]][[:space:]]*CKPT_/d' "$f"
    done
    if grep -l 'CKPT_' "$1"/*.[ch] >/dev/null 2>&1; then
        echo "# --no-pragmas: CKPT_ still named in $(grep -l 'CKPT_' "$1"/*.[ch])"
    fi
}
if [[ -d $src ]]; then
    for v in plain ckpt; do
        cp -r "$src" "$work/$v"
        make -s -C "$work/$v" clean >/dev/null
    done
    ((no_pragmas)) && strip_pragmas "$work/ckpt"
    make -C "$work/plain" CC=cc >"$work/cc.log" 2>&1 || { cat "$work/cc.log"; exit 1; }
    make -C "$work/ckpt" CC="$ckpt_cc" >"$work/ckpt-cc.log" 2>&1 || { cat "$work/ckpt-cc.log"; exit 1; }
else
    mkdir -p "$work/plain" "$work/ckpt" "$work/src"
    cp "$src" "$work/src/"
    ((no_pragmas)) && strip_pragmas "$work/src"
    cc -O1 -o "$work/plain/$name" "$src" -lgpvm3 -lpvm3 -lm 2>"$work/cc.log" || { cat "$work/cc.log"; exit 1; }
    "$ckpt_cc" -O1 -Wno-ckpt-unsaved -o "$work/ckpt/$name" "$work/src/$(basename "$src")" -lm \
        2>"$work/ckpt-cc.log" || { cat "$work/ckpt-cc.log"; exit 1; }
fi

# Debian keeps the group server (pvmgs) in $PVM_ROOT/lib, out of PVM's default path
pvmvm_start --wd "$work" --ep "$work/plain" --ep "${PVM_ROOT:-/usr/lib/pvm3}/lib"
cd "$work"

t0=$(date +%s.%N)
status=0
pvmvm_run 120 "$work/plain/$name" "${pargs[@]}" >"$work/expected" 2>"$work/plain.err" || status=$?
((status != 124)) || pvmvm_fail "plain run timed out"
((spmd == 0)) || ((status == 0)) || pvmvm_fail "plain run failed: $(cat "$work/plain.err")"
t1=$(date +%s.%N)
pvmvm_wait_idle 10 || true
span=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
[[ -s $work/expected ]] || pvmvm_fail "the plain run printed nothing"
echo "# plain run: ${span} ms, $(wc -l <"$work/expected") lines, exit status $status"

lost=0 had_event=0
((log_off)) && export CKPT_LOG=off
# kill_once LABEL K PID ERR: the K-th kill of a run, on an event (see above);
# false, saying why, if the failure could not be injected or did not land
kill_once() {
    local label=$1 k=$2 pid=$3 err=$4 re want victim
    if [[ $kill_after ]]; then
        re=$kill_after want=$(($(grep -sc -- "$re" "$err") + 1))
        local c0 n
        c0=$(jobtest_commits "$err")
        until n=$(grep -sc -- "$re" "$err"); ((${n:-0} >= want)); do
            kill -0 "$pid" 2>/dev/null || { echo "#   $label: the job ended before '$re'"; return 1; }
            if (($(jobtest_commits "$err") >= c0 + 20)); then
                echo "#   $label: no '$re' in 20 commits: the kill follows a commit"
                re='^ckpt-run: checkpoint [0-9]* committed' want=0
                break
            fi
            sleep 0.01
        done
        ((want == 0)) || had_event=$((had_event + 1))
    else
        re='^ckpt-run: checkpoint [0-9]* committed' want=$(($(jobtest_commits "$err") + 1 + RANDOM % 2))
    fi
    jobtest_wait_for "$err" "$re" "$pid" "$want" ||
        { echo "#   $label: no '$re' ($want) before the job ended or within 120 s"; return 1; }
    [[ $kill_after ]] ||
        sleep "$(awk -v s="$interval" -v r="$RANDOM" 'BEGIN { printf "%.3f", s * (r % 1000) / 1000 }')"
    # the job's own tasks only (not ckpt-run, not the console asking)
    mapfile -t victims < <(jobtest_tasks "$work/ckpt/")
    ((${#victims[@]})) || { echo "#   $label: no task of the job to kill"; return 1; }
    # one that is still there: a task may be leaving as we look
    local i0=$((RANDOM % ${#victims[@]})) i
    for ((i = 0; i < ${#victims[@]}; i++)); do
        victim=${victims[(i0 + i) % ${#victims[@]}]}
        kill -9 "$victim" 2>/dev/null && break
        victim=
    done
    [[ $victim ]] || { echo "#   $label: every task of the job was gone already"; return 1; }
    echo "#   $label: killed pid $victim after $(jobtest_commits "$err") commit(s)"
    # A task killed after it said goodbye has left, not failed (ckpt-run -vv
    # says so): then another task is killed, for this kill.
    local re_done='recovered from checkpoint\|from the beginning\|giving up' n deadline=$((SECONDS + 120))
    until n=$(grep -sc -- "$re_done" "$err"); ((${n:-0} >= k)); do
        ((SECONDS < deadline)) || { echo "#   $label: no recovery within 120 s of kill $k"; return 1; }
        if grep -q "left the job (pid $victim)" "$err"; then
            echo "#   $label: pid $victim had left the job already: another"
            kill_once "$@"
            return
        fi
        kill -0 "$pid" 2>/dev/null || { echo "#   $label: no recovery followed kill $k"; return 1; }
        sleep 0.01
    done
}

# run_one LABEL NKILLS: one ckpt-run of the instrumented build
run_one() {
    local label=$1 nk=$2 out=$work/out.$1 err=$work/err.$1 pid k line rc=0 why=
    rm -rf "$work/ckpt.$name"
    if ((nk > 0)); then jobtest_hold "$work/hold"; else unset CKPT_HOLD; fi
    "$ckpt_run" -vv -i "$interval" -d "$work/ckpt.$name" "${launch[@]}" "$work/ckpt/$name" "${args[@]}" >"$out" 2>"$err" &
    pid=$!
    for ((k = 1; k <= nk; k++)); do
        kill_once "$label" "$k" "$pid" "$err" || { why="the failure was not injected"; break; }
    done
    jobtest_release
    # without the log a lost message shows as a job that waits for ever
    local deadline=$((SECONDS + (log_off && nk > 0 ? 4 + span / 250 : 120)))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        wait "$pid" || true
        if ((log_off && nk > 0)); then
            lost=$((lost + 1))
            echo "ok - $label: the job never ended: a message was lost (expected without the log)"
            passed=$((passed + 1))
            return
        fi
        echo "not ok - $label: ckpt-run still running after 120 s"
        tail -n 20 "$err"
        failed=$((failed + 1))
        return
    fi
    wait "$pid" || rc=$?
    local recovered
    recovered=$(jobtest_recoveries "$err")
    if [[ -z $why ]]; then
        ((recovered == nk)) || why="$recovered recoveries for $nk kill(s)"
        line=$(jobtest_resumed "$err") || why="$line"
    fi
    if [[ -z $why ]] && ((expect_incr && nk > 0)) &&
        awk '/^ckpt-run: checkpoint [0-9]+ committed:.*incremental/ { incr[$3] = 1 }
            /recovered from checkpoint [0-9]+/ {
                for (i = 1; i < NF; i++) if ($i == "checkpoint" && $(i - 1) == "from") k = $(i + 1)
                n++; if (incr[k]) m++ }
            END { exit !(n > 0 && m == n) }' "$err"; then
        incr_runs=$((incr_runs + 1))
        echo "#   $label: recovered from incremental checkpoints"
    fi
    if ((log_off && nk > 0)) && [[ -z $why ]] && { ((rc != status)) || ! cmp -s "$work/expected" "$out" ||
        grep -q 'lost in transit' "$err" "$PVMVM_LOG"; }; then
        lost=$((lost + 1))
        passed=$((passed + 1))
        echo "ok - $label: recovery without the log lost a message (expected)"
    elif [[ -z $why ]] && ((rc == status)) && cmp -s "$work/expected" "$out"; then
        passed=$((passed + 1))
        echo "ok - $label: $recovered recoveries, each from the last commit"
    else
        failed=$((failed + 1))
        echo "not ok - $label: exit $rc (plain: $status)${why:+, $why}"
        cmp -s "$work/expected" "$out" || { echo "#   output differs from the plain run:"; diff "$work/expected" "$out" | head -n 10 || true; }
        grep -v "committed" "$err" | tail -n 20 || true
    fi
    pvmvm_wait_idle 10 || true
}

run_one clean 0
for ((r = 1; r <= runs; r++)); do
    run_one "kill$r" "$kills"
done
if ((log_off)); then
    echo "# without the sender log, $lost of $runs runs lost messages"
    if ((lost == 0)); then
        echo "not ok - no run lost a message without the log: the seed's claim is not shown"
        failed=$((failed + 1))
    fi
fi
if [[ $kill_after ]] && ((runs > 0 && had_event == 0)); then
    echo "not ok - no run had '$kill_after' to kill after"
    failed=$((failed + 1))
fi
if ((expect_incr && runs > 0 && incr_runs == 0)); then
    echo "not ok - no run recovered from an incremental checkpoint"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
