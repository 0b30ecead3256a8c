#!/usr/bin/env bash
# floodbench.sh: what a flood of application messages that a program never
# receives costs it with and without ckpt.  PVM lets any task of the user send
# a task messages; they are the program's to hold, so the runtime must hold
# them no worse than libpvm does, keep receives from everyone else fast, and
# keep checkpointing (issue 13).  tests/integration/progs/pingpong.c (a master
# and its worker, ROUNDS rounds) is built with cc and with ckpt-cc, and
# progs/forger.c (plain) sends the master N small messages (tag 99) once it
# has printed its first round.  Each variant also runs without the flood.
# Per run: wall time, the master's peak resident size (VmHWM) and, under
# ckpt-run -i 1, the checkpoints committed.  The variants alternate, so that
# load drifts hit both alike.
#
#   bench/floodbench.sh [--quick] [-o FILE] [--build DIR] [--trials N] [-n N]
#
#   full (default): 200,000 messages, 3000 rounds, 3 trials; about 8 minutes.
#   --quick:        50,000 messages, 1000 rounds, 1 trial; under a minute.
#   -n N            messages in the flood; --trials N: runs of each variant
#   -o FILE         also write the table to FILE
#   --build DIR     where ckpt-cc / ckpt-run come from (default build-bench)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib/pvmvm.sh"
. "$here/lib.sh"

quick=0 out= build=$top/build-bench trials= flood= rounds=
while (($#)); do
    case $1 in
    --quick) quick=1; shift ;;
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    -n) flood=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "floodbench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if ((quick)); then
    flood=${flood:-50000} rounds=1000 trials=${trials:-1}
else
    flood=${flood:-200000} rounds=3000 trials=${trials:-3}
fi
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/floodbench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
progs=$top/tests/integration/progs
mkdir "$work/plain" "$work/ckpt"      # both named pingpong: the forger finds the job by name
cc -O2 -o "$work/plain/pingpong" "$progs/pingpong.c" -lpvm3
"$CKPT_CC" -O2 -Wno-ckpt-unsaved -o "$work/ckpt/pingpong" "$progs/pingpong.c" -lpvm3
cc -O1 -o "$work/forger" "$progs/forger.c" -lpvm3
pvmvm_start --wd "$work"
cd "$work"
echo "# floodbench $( ((quick)) && echo quick || echo full): $flood messages, $rounds rounds, $trials trial(s); $(bench_machine)" >&2

# master_pid EXE: the master (argv: EXE ROUNDS; its worker has -w)
master_pid() {
    local f
    for f in /proc/[0-9]*/cmdline; do
        [[ $( (tr '\0' ' ' <"$f") 2>/dev/null) == "$1 $rounds " ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; return; }
    done
    return 0
}

# run VARIANT FLOOD: prints "VARIANT FLOOD wall_s peak_MiB commits"
run() {
    local v=$1 n=$2 exe=$work/$1/pingpong pid m= hwm=0 t0 t1 h
    rm -rf "$work/ckpt.d" "$work/out" "$work/err" "$work/forger.out"
    t0=$(date +%s.%N)
    if [[ $v == plain ]]; then
        "$exe" $rounds >"$work/out" 2>"$work/err" &
    else
        "$CKPT_RUN" -v -i 1 -n 1 -d "$work/ckpt.d" "$exe" $rounds >"$work/out" 2>"$work/err" &
    fi
    pid=$!
    until grep -qs '^round 0 ' "$work/out" || ! kill -0 $pid 2>/dev/null; do sleep 0.01; done
    ((n == 0)) || { "$work/forger" flood "$n"; echo "sent after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"; } >"$work/forger.out" 2>&1 &
    while kill -0 $pid 2>/dev/null; do
        [[ -n $m ]] || m=$(master_pid "$exe")
        h=$([[ -n $m ]] && awk '/^VmHWM/ { print $2 }' "/proc/$m/status" 2>/dev/null || true)
        ((${h:-0} > hwm)) && hwm=$h
        sleep 0.1
    done
    wait $pid || pvmvm_fail "$v: the job failed: $(tail -n 3 "$work/err")"
    t1=$(date +%s.%N)
    wait || true
    [[ $(wc -l <"$work/out") -eq $rounds ]] || pvmvm_fail "$v: $(wc -l <"$work/out") lines, want $rounds"
    echo "$v $n $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') $((hwm / 1024)) $(grep -c 'committed:' "$work/err" || true) #$( ((n == 0)) || tr '\n' ' ' <"$work/forger.out")"
}

: >"$work/raw"
for ((t = 1; t <= trials; t++)); do
    for v in $( ((t % 2)) && echo plain ckpt || echo ckpt plain); do
        for n in 0 "$flood"; do
            line=$(run $v "$n")
            echo "# trial $t: $line" >&2
            echo "${line%% #*}" >>"$work/raw"
        done
    done
done
# field F (3 wall, 4 peak, 5 commits) of VARIANT with FLOOD messages, median
med() { awk -v v="$1" -v n="$2" -v f="$3" '$1 == v && $2 == n { print "k", $f }' "$work/raw" | bench_median | awk '{ print $2 }'; }
{
    echo "| $rounds rounds | wall (s) | wall, flood of $flood (s) | peak RSS (MiB) | peak RSS, flood (MiB) | checkpoints, flood |"
    echo "|---|---|---|---|---|---|"
    for v in plain ckpt; do
        echo "| $v | $(med $v 0 3) | $(med $v "$flood" 3) | $(med $v 0 4) | $(med $v "$flood" 4) | $([[ $v == plain ]] && echo - || med $v "$flood" 5) |"
    done
    echo
    echo "Medians of $trials trial(s). What the flood adds: plain $(bench_pct "$(med plain 0 3)" "$(med plain "$flood" 3)")% wall," \
        "ckpt $(bench_pct "$(med ckpt 0 3)" "$(med ckpt "$flood" 3)")%; peak RSS under the flood, ckpt against plain:" \
        "$(bench_pct "$(med plain "$flood" 4)" "$(med ckpt "$flood" 4)")%."
} | tee ${out:+"$out"}
