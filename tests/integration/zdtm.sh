#!/usr/bin/env bash
# zdtm.sh: one failure-injection test, in the spirit of CRIU's zdtm.  A small
# real PVM program is built twice (cc and ckpt-cc); its plain run under a
# private pvmd gives the expected output; then the instrumented build runs
# under ckpt-run, once without failures and RUNS times with KILLS random tasks
# killed by SIGKILL at random times, and every run must print exactly the
# expected output and exit 0.
#
#   zdtm.sh SOURCE|DIR [--exe NAME] [--runs N] [--kills K] [--interval S] [--ckpt-cc PATH]
#           [--ckpt-run PATH] [--spmd N --plain-args "ARGS"] [--log-off]
#           [--fault WHAT] -- ARGS...
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
# --fault sets CKPT_FAULT for the instrumented runs (runtime/fault.c).
#
# --kill-after REGEX kills as soon as ckpt-run's -v output matches REGEX (e.g.
# 'committed': right after a commit, so that every recovery rolls back to a
# cut, for the in-transit tests a cut with messages in transit) rather than at
# a random time; a run where it never matches has no failure injected.
#
# --exact-resume: a run whose failure landed must have been recovered from
# the last checkpoint committed before the kill or a later one ("recovered
# from checkpoint K"), never by waiting for a task that does not come back,
# nor from the job's beginning once a checkpoint was committed: the right
# output through a wasted checkpoint is a failure too.
#
# ZDTM_SEED fixes the random choices (printed at the start); ZDTM_RUNS
# overrides --runs (the full suite sets it to 20).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"

src=${1:?usage: zdtm.sh SOURCE [options] -- ARGS}
shift
log_off=0 exact_resume=0 kill_after= exe= runs=3 kills=1 interval=0.3 spmd=0 plain_args= ckpt_cc=$top/build/instrument/ckpt-cc ckpt_run=$top/build/tools/ckpt-run
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
    --exact-resume) exact_resume=1; shift ;;
    --kill-after) kill_after=$2; shift 2 ;;
    --fault) export CKPT_FAULT=$2; shift 2 ;;
    --plain-args) plain_args=$2; shift 2 ;;
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
if [[ -d $src ]]; then
    for v in plain ckpt; do
        cp -r "$src" "$work/$v"
        make -s -C "$work/$v" clean >/dev/null
    done
    make -C "$work/plain" CC=cc >"$work/cc.log" 2>&1 || { cat "$work/cc.log"; exit 1; }
    make -C "$work/ckpt" CC="$ckpt_cc" >"$work/ckpt-cc.log" 2>&1 || { cat "$work/ckpt-cc.log"; exit 1; }
else
    mkdir -p "$work/plain" "$work/ckpt"
    cc -O1 -o "$work/plain/$name" "$src" -lgpvm3 -lpvm3 2>"$work/cc.log" || { cat "$work/cc.log"; exit 1; }
    "$ckpt_cc" -O1 -Wno-ckpt-unsaved -o "$work/ckpt/$name" "$src" 2>"$work/ckpt-cc.log" || { cat "$work/ckpt-cc.log"; exit 1; }
fi

# Debian keeps the group server (pvmgs) in $PVM_ROOT/lib, out of PVM's default path
pvmvm_start --wd "$work" --ep "$work/plain" --ep "${PVM_ROOT:-/usr/lib/pvm3}/lib"
cd "$work"

t0=$(date +%s.%N)
pvmvm_run 120 "$work/plain/$name" "${pargs[@]}" >"$work/expected" 2>"$work/plain.err" ||
    pvmvm_fail "plain run failed: $(cat "$work/plain.err")"
t1=$(date +%s.%N)
pvmvm_wait_idle 10 || true
span=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
[[ -s $work/expected ]] || pvmvm_fail "the plain run printed nothing"
echo "# plain run: ${span} ms, $(wc -l <"$work/expected") lines"

passed=0 failed=0 landed=0 lost=0
# resume_fault ERRFILE K: why a recovery in ckpt-run's -v output did not
# resume from checkpoint K or a later one (K: the newest committed when the
# kill was made; read then, as the restarted root may cut its stderr back);
# nothing when every one did.
resume_fault() {
    awk -v want="$2" '
        /did not come back/ { print "a task did not come back: " $0; exit }
        /from the beginning/ && want > 0 { print "checkpoint " want " was committed, yet: " $0; exit }
        /recovered from checkpoint/ { for (i = 1; i < NF; i++) if ($i == "checkpoint") k = $(i + 1) + 0
                                      if (k < want) { print "resumed from checkpoint " k ", not " want; exit } }' "$1"
}
((log_off)) && export CKPT_LOG=off
# run_one LABEL NKILLS: one ckpt-run of the instrumented build
run_one() {
    local label=$1 nk=$2 out=$work/out.$1 err=$work/err.$1 pid k victim line rc=0 cut=
    rm -rf "$work/ckpt.$name"
    "$ckpt_run" -v -i "$interval" -d "$work/ckpt.$name" "${launch[@]}" "$work/ckpt/$name" "${args[@]}" >"$out" 2>"$err" &
    pid=$!
    for ((k = 0; k < nk; k++)); do
        if [[ $kill_after ]]; then
            until grep -q -- "$kill_after" "$err" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do
                sleep 0.01
            done
        else
            # somewhere in the first 80% of a plain run's span, after start-up
            sleep "$(awk -v s="$span" -v r="$RANDOM" 'BEGIN { printf "%.3f", (100 + r % (s * 0.8 + 1)) / 1000 }')"
        fi
        # the job's own tasks only (not ckpt-run, not the console asking)
        mapfile -t victims < <(pvmvm_tasks | awk -v p="$pid" -v d="$work/ckpt/" '$2 != p && index($3, d) == 1 { print $2 }')
        ((${#victims[@]})) || break
        victim=${victims[RANDOM % ${#victims[@]}]}
        [[ $cut ]] || cut=$(grep -o 'checkpoint [0-9]* committed' "$err" | tail -n 1 | awk '{ print $2 + 0 }') || true
        kill -9 "$victim" 2>/dev/null && echo "#   $label: killed pid $victim" || true
    done
    # without the log a lost message shows as a job that waits for ever
    local deadline=$((SECONDS + (log_off ? 4 + span / 250 : 120)))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    grep -q 'recovered from checkpoint\|from the beginning' "$err" && landed=$((landed + 1))
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
    if ((log_off && nk > 0)) && { ((rc != 0)) || ! cmp -s "$work/expected" "$out" ||
        grep -q 'lost in transit' "$err" "$PVMVM_LOG"; }; then
        lost=$((lost + 1))
        passed=$((passed + 1))
        echo "ok - $label: recovery without the log lost a message (expected)"
    elif ((exact_resume)) && [[ $(resume_fault "$err" "${cut:-0}") ]]; then
        failed=$((failed + 1))
        echo "not ok - $label: $(resume_fault "$err" "${cut:-0}")"
        grep -v 'committed' "$err" | tail -n 20
    elif ((rc == 0)) && cmp -s "$work/expected" "$out"; then
        passed=$((passed + 1))
        echo "ok - $label $(grep -o '[0-9]* recover[a-z]*' "$err" | head -n1)"
    else
        failed=$((failed + 1))
        echo "not ok - $label: exit $rc, output differs from the plain run"
        diff "$work/expected" "$out" | head -n 10 || true
        grep -v 'committed' "$err" | tail -n 20
    fi
    pvmvm_wait_idle 10 || true
}

run_one clean 0
for ((r = 1; r <= runs; r++)); do
    run_one "kill$r" "$kills"
done
echo "# $landed of $runs runs recovered from an injected failure"
if ((log_off)); then
    echo "# without the sender log, $lost of $runs runs lost messages"
    if ((lost == 0)); then
        echo "not ok - no run lost a message without the log: the seed's claim is not shown"
        failed=$((failed + 1))
    fi
fi
if ((runs > 0 && kills > 0 && landed == 0)); then
    echo "not ok - no injected failure landed (the program ran too short?)"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
