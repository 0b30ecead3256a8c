#!/usr/bin/env bash
# jacobibench.sh: failure-free cost of checkpointing the Jacobi sample
# (samples/jacobi: `jacobi N ITERS NTASKS K`), 4 tasks, under one private pvmd
# (tests/lib/pvmvm.sh), four variants one after the other in one invocation:
#
#   plain   cc -O2 jacobi.c -lpvm3, started from the shell (it spawns 3 copies)
#   i10     ckpt-cc -O2, `ckpt-run -v -i 10`
#   i0      `ckpt-run -i 0` (instrumented, no checkpoint)
#   i2      `ckpt-run -v -i 2`
#   i10cow, i2cow   the same with CKPT_SNAPSHOT=off: writers share the heap
#           copy-on-write instead of getting a copy of it (runtime/heap.c)
#   with --settings, instead of i10cow, i2 and i2cow: what deflating costs
#   against what it saves on disk, every image deflated or none:
#   i10z1, i10z0, i10z6   `ckpt-run -v -i 10 -z 1` (0, 6); i10 is -z auto
#
# Reported per variant: wall time and CPU seconds of the whole job (robust
# against other load on the machine), overhead against plain, checkpoints
# committed, raw and stored bytes per checkpoint (all tasks), compression
# ratio, per-task write throughput (raw bytes / write time, CKPT_VERBOSE=3
# lines "checkpoint K written in X ms: R bytes, S on disk"), and the stop per
# checkpoint ("writer PID started after a X ms stop (Y ms on the CPU)", each
# task's stderr: the root's reaches ckpt-run's stderr, the spawned tasks' the
# pvmd log) against a bare fork() of a computing process of the tasks'
# anonymous resident size sampled during the i10 run, linked with the same
# libraries (bench/forktime.c), measured idle and while the i0 job runs (the
# same CPU contention a checkpointing task sees).  Every variant's output must
# equal plain's.
#
#   bench/jacobibench.sh [--quick] [-o FILE] [--build DIR] [--n N] [--iters I]
#                        [--target SECONDS] [--keep DIR] [--settings]
#
#   full (default): N = 2896 (32 MiB of saved state per task), K = 100, ITERS
#                   calibrated from a short plain run so that the plain run
#                   lasts --target seconds (default 60), --rounds 2: the four
#                   variants run twice, interleaved (4 tasks on 2 cores make
#                   single runs vary by several %); about 13 minutes.
#   --quick:        N = 1024 (4 MiB per task), ITERS for a ~6 s plain run,
#                   1 round; under a minute.
#   --n N / --iters I  fix the grid / the iteration count (no calibration)
#   --keep DIR      copy the logs there (and the i2 run's checkpoint folder)
#   -o FILE         also write the table to FILE
#
# Goals: overhead <= 5% with a checkpoint every 10 s; stop <= 1.5x a bare fork.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib/pvmvm.sh"
. "$here/lib.sh"

quick=0 out= build=$top/build-bench n= iters= target= keep= k=100 ntasks=4 rounds= settings=0
while (($#)); do
    case $1 in
    --quick) quick=1; shift ;;
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --settings) settings=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "jacobibench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if ((quick)); then
    n=${n:-1024} target=${target:-6} rounds=${rounds:-1}
else
    n=${n:-2896} target=${target:-60} rounds=${rounds:-2}
fi
if ((settings)); then extra=(i10z1 i10z0 i10z6); else extra=(i10cow i2 i2cow); fi
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
[[ -n $keep ]] && keep=$(realpath -m "$keep")
# each variant says what it sets: none inherited from the caller
unset CKPT_CHAIN CKPT_COMPRESS CKPT_DISK_MBS CKPT_SNAPSHOT CKPT_FAULT CKPT_HOLD CKPT_INTERVAL CKPT_DIR CKPT_LOG
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/jacobibench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
mkdir -p "$work/plain" "$work/ckpt"
cc -O2 -g -Wall -Wno-unknown-pragmas -o "$work/plain/jacobi" "$top/samples/jacobi/jacobi.c" -lpvm3
"$CKPT_CC" -O2 -g -Wall -Wno-unknown-pragmas -o "$work/ckpt/jacobi" "$top/samples/jacobi/jacobi.c" -lpvm3
# forktime maps libpvm3 and its dependencies as a task does (fork() also
# pays per mapping), though it calls none of it: hence --no-as-needed
cc -O2 -Wall -o "$work/forktime" "$here/forktime.c" -Wl,--no-as-needed -lpvm3
pvmvm_start --ep "$work/plain" --wd "$work"
cd "$work"
now() { bench_now; }
secs() { bench_secs "$@"; }
[[ -n $iters ]] || iters=$(bench_jacobi_iters "$n" "$ntasks" "$k" "$target")
load0=$(bench_machine)
echo "# jacobibench $( ((quick)) && echo quick || echo full): jacobi $n $iters $ntasks $k; $load0" >&2

# rss_mib: the largest anonymous resident size (MiB) among this machine's
# tasks: what fork() copies page tables for (VmRSS also counts the shared
# libraries' unwritten pages, which fork() leaves alone)
rss_mib() {
    local pid m=0 r
    for pid in $(pvmvm_tasks | awk '{ print $2 }'); do
        r=$(awk '/^RssAnon/ { print int($2 / 1024 + 0.5) }' "/proc/$pid/status" 2>/dev/null || echo 0)
        ((r > m)) && m=$r
    done
    echo "$m"
}

# run_variant NAME ROUND [CKPT-RUN OPTIONS]: one run; leaves out.NAME.ROUND,
# err.*, pvmlog.* (the pvmd log lines of this run), wall.*, rc.*
run_variant() {
    local v=$1 r=$2 rc=0 logstart t0 t1
    shift 2
    logstart=$(wc -l <"$PVMVM_LOG")
    echo "# round $r $v: ${*:-plain} ($(cut -d' ' -f1 /proc/loadavg))" >&2
    rm -rf "$work/ckpt.$v"
    local p0
    child_cpu "cpu0.$v.$r"
    p0=$(pvmd_child_cpu)
    t0=$(now)
    if [[ $v == plain ]]; then
        timeout -k 5 1200 ./plain/jacobi "$n" "$iters" "$ntasks" "$k" >"out.$v.$r" 2>"err.$v.$r" || rc=$?
    else
        CKPT_VERBOSE=3 timeout -k 5 1200 "$CKPT_RUN" "$@" -d "$work/ckpt.$v" ./ckpt/jacobi "$n" "$iters" "$ntasks" "$k" \
            >"out.$v.$r" 2>"err.$v.$r" || rc=$?
    fi
    t1=$(now)
    echo "$(secs "$t0" "$t1")" >"wall.$v.$r"
    echo "$rc" >"rc.$v.$r"
    pvmvm_wait_idle 20 || true
    # CPU seconds of the whole job: what the shell's children (the root task,
    # or ckpt-run and the root) and the pvmd's reaped children (the spawned
    # tasks, with their reaped writer children) used
    child_cpu "cpu1.$v.$r"
    awk -v a="$(cat "cpu0.$v.$r")" -v b="$(cat "cpu1.$v.$r")" -v c="$p0" -v d="$(pvmd_child_cpu)" \
        'BEGIN { printf "%.2f\n", (b - a) + (d - c) }' >"cpu.$v.$r"
    tail -n +"$((logstart + 1))" "$PVMVM_LOG" >"pvmlog.$v.$r"
    if [[ $v != plain ]]; then
        "$CKPT_INFO" --json "$work/ckpt.$v" >"info.$v.$r" 2>/dev/null || true
    fi
}

# The fork baseline: the tasks' anonymous resident size is sampled half-way through the
# first i10 run (what a checkpointing task really holds: state, sender log,
# PVM buffers); a bare fork of that size is then timed while the i0 job
# computes (same CPU contention as the checkpoints see) and at the end, idle.
rss= fork_loaded=
for ((r = 1; r <= rounds; r++)); do
    run_variant plain "$r"
    if [[ -z $rss ]]; then
        run_variant i10 "$r" -v -i 10 &
        bgpid=$!
        sleep "$(awk -v t="$target" 'BEGIN { printf "%.1f", t / 2 }')"
        rss=$(rss_mib)
        wait "$bgpid"
        ((rss > 0)) || rss=$(( (n / ntasks + 2) * n * 16 / 1048576 + 4 ))
        run_variant i0 "$r" -i 0 &
        bgpid=$!
        sleep "$(awk -v t="$target" 'BEGIN { printf "%.1f", t / 3 }')"
        fork_loaded=$("$work/forktime" "$rss" 15)
        wait "$bgpid"
    else
        run_variant i10 "$r" -v -i 10
        run_variant i0 "$r" -i 0
    fi
    for v in "${extra[@]}"; do
        case $v in
        i10cow) CKPT_SNAPSHOT=off run_variant i10cow "$r" -v -i 10 ;;
        i2) run_variant i2 "$r" -v -i 2 ;;
        i2cow) CKPT_SNAPSHOT=off run_variant i2cow "$r" -v -i 2 ;;
        i10z*) run_variant "$v" "$r" -v -i 10 -z "${v#i10z}" ;;
        esac
    done
done
fork_idle=$("$work/forktime" "$rss" 15)
echo "# forktime $rss MiB idle: $fork_idle; during i0: $fork_loaded" >&2
field() { awk -v f="$1" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }'; }
fk_idle=$(field fork_ms_median <<<"$fork_idle")
fk_loaded=$(field fork_ms_median <<<"$fork_loaded")
fk_idle_min=$(field fork_ms_min <<<"$fork_idle")
fk_loaded_min=$(field fork_ms_min <<<"$fork_loaded")
fk_idle_b2b=$(field back_to_back_ms_median <<<"$fork_idle")
fk_loaded_b2b=$(field back_to_back_ms_median <<<"$fork_loaded")

# per checkpointing variant: stops, writes, commits
for v in plain i0 i10 "${extra[@]}"; do
    cat err."$v".* pvmlog."$v".* >"all.$v"
    cat err."$v".* >"err.$v"
    awk '{ print "x", $1 }' wall."$v".* | bench_median | awk '{ print $2 }' >"wall.$v"
    awk '{ print "x", $1 }' cpu."$v".* | bench_median | awk '{ print $2 }' >"cpu.$v"
    rcs=$(cat rc."$v".* | sort -u | tr '\n' ' ')
    [[ $rcs == "0 " ]] && echo 0 >"rc.$v" || echo "$rcs" >"rc.$v"
    # every round's output must be the reference (plain round 1)
    same=1
    for o in out."$v".*; do cmp -s out.plain.1 "$o" || same=0; done
    echo "$same" >"same.$v"
    cat info."$v".* 2>/dev/null >"info.$v" || true
    sed -n 's/.*checkpoint [0-9]*: writer [0-9]* started after a \([0-9.]*\) ms stop.*/\1/p' "all.$v" >"stops.$v"
    sed -n 's/.*checkpoint [0-9]*: writer [0-9]* started after a [0-9.]* ms stop (\([0-9.]*\) ms on the CPU[;)].*/\1/p' \
        "all.$v" >"stopcpu.$v"
    # raw MB/s = bytes / ms / 1000, ratio = raw / stored
    sed -n 's/.*checkpoint [0-9]* written in \([0-9]*\) ms: \([0-9]*\) bytes, \([0-9]*\) on disk.*/\1 \2 \3/p' "all.$v" >"writes.$v"
    grep 'ckpt-run: checkpoint [0-9]* committed' "err.$v" >"commits.$v" || true
done
stat_of() {     # FILE of numbers -> "median max count"
    local m
    [[ -s $1 ]] || { echo "- - 0"; return; }
    m=$(awk '{ print "x", $1 }' "$1" | bench_median)
    echo "$(awk '{ print $2 }' <<<"$m") $(sort -g "$1" | tail -1) $(awk '{ print $3 }' <<<"$m")"
}

ok_out() {
    if [[ ${1} == plain ]]; then
        [[ $(cat rc.plain) == 0 && -s out.plain.1 && $(cat same.plain) == 1 ]] && echo "reference" || echo "FAILED or unstable (exit $(cat rc.plain))"
    elif [[ $(cat "rc.$1") != 0 ]]; then
        echo "FAILED (exit $(cat "rc.$1"))"
    elif [[ $(cat "same.$1") == 1 ]]; then
        echo "identical"
    else
        echo "DIFFERS"
    fi
}

wp=$(cat wall.plain) cp=$(cat cpu.plain)
{
    echo "## jacobibench ($( ((quick)) && echo quick || echo full) mode$( ((settings)) && echo ", --settings")): jacobi $n $iters $ntasks $k"
    echo
    echo "$load0 (at start)"
    echo
    echo "State per task: 2 strips of ($((n / ntasks)) + 2) x $n doubles = $(( 2 * (n / ntasks + 2) * n * 8 / 1048576 )) MiB; largest anonymous resident size of a task half-way through the -i 10 run: $rss MiB."
    echo
    echo "| variant | wall s (median; rounds) | overhead | CPU s (median; rounds) | CPU overhead | ckpts committed (per round) | raw MiB / ckpt (all tasks) | of which sender log | on disk MiB / ckpt | ratio | write MB/s per task (median) | stop ms median / max (median on CPU) | stop / bare fork | output |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '| plain | %s (%s) | | %s (%s) | | | | | | | | | | %s |\n' "$wp" "$(cat wall.plain.* | tr '\n' ' ' | sed 's/ $//')" \
        "$cp" "$(cat cpu.plain.* | tr '\n' ' ' | sed 's/ $//')" "$(ok_out plain)"
    for v in i0 i10 "${extra[@]}"; do
        w=$(cat "wall.$v")
        nck=$(sed -n 's/.* \([0-9]*\) checkpoints\{0,1\} committed.*/\1/p' "err.$v" | tr '\n' '+' | sed 's/+$//')
        [[ -n $nck ]] || nck=0
        logm=$(sed -n 's/.*"log_bytes": \([0-9]*\).*"write_ms".*/\1/p' "info.$v" | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')
        neps=$(grep -c '"epoch":' "info.$v" || true)
        logm=$(awk -v s="$logm" -v e="$neps" 'BEGIN { if (e > 0) printf "%.1f", s / e; else print "-" }')
        raw=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "MiB" && $(i + 2) == "in") r += $i; c++ } END { if (c) printf "%.1f", r / c; else print "-" }' "commits.$v")
        disk=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "MiB" && $(i + 2) == "on") r += $i; c++ } END { if (c) printf "%.2f", r / c; else print "-" }' "commits.$v")
        ratio=$(awk '{ r += $2; s += $3 } END { if (s) printf "%.1f", r / s; else print "-" }' "writes.$v")
        wmbs=$(awk '$1 > 0 { print "x", $2 / $1 / 1000 }' "writes.$v" | bench_median | awk '{ printf "%.0f", $2 }')
        read -r smed smax scnt < <(stat_of "stops.$v")
        read -r cmed _ _ < <(stat_of "stopcpu.$v")
        if ((scnt > 0)); then
            stop=$(printf '%.2f / %.2f (%s)' "$smed" "$smax" "$cmed")
            rel=$(awk -v s="$smed" -v a="$fk_idle" -v b="$fk_loaded" 'BEGIN { printf "%.2fx idle, %.2fx loaded", s / a, s / b }')
        else
            stop=- rel=-
        fi
        label=$v
        case $v in
        i0) label="ckpt-run -i 0" ;; i10) label="ckpt-run -i 10 (-z auto)" ;; i2) label="ckpt-run -i 2" ;;
        i10cow) label="-i 10, heap copy-on-write" ;; i2cow) label="-i 2, heap copy-on-write" ;;
        i10z*) label="-i 10 -z ${v#i10z}" ;;
        esac
        c=$(cat "cpu.$v")
        printf '| %s | %s (%s) | %s%% | %s (%s) | %s%% | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$w" \
            "$(cat wall."$v".* | tr '\n' ' ' | sed 's/ $//')" "$(bench_pct "$wp" "$w")" \
            "$c" "$(cat cpu."$v".* | tr '\n' ' ' | sed 's/ $//')" "$(bench_pct "$cp" "$c")" \
            "$nck" "$raw" "$logm" "$disk" "$ratio" "${wmbs:--}" "$stop" "$rel" "$(ok_out "$v")"
    done
    echo
    echo "Bare fork() of a computing process of $rss MiB anonymous resident memory that maps the tasks' libraries"
    echo "(bench/forktime.c: each fork after 200 ms of writing all of its memory; median of 15 (min)): idle ${fk_idle} ms"
    echo "(${fk_idle_min}); while the i0 job computes on both cores ${fk_loaded} ms (${fk_loaded_min})."
    echo "The same process forking again right after (one write per page in between): idle ${fk_idle_b2b} ms, during i0 ${fk_loaded_b2b} ms."
    echo "Stops are every task's, every checkpoint (CKPT_VERBOSE=3), wall time from just before fork() until it"
    echo "returns in the task; \"on CPU\": the task's own CPU time over that span (the rest: others ran first)."
    echo "Write MB/s = raw image bytes / write time"
    echo "of each task's writer (a nice-10 child competing with 4 computing tasks on $(nproc) cores)."
    echo "CPU s: user+sys of every process of the job (tasks, writer children, ckpt-run), from bash \`times\`"
    echo "and the pvmd's cutime/cstime; it does not move with other load on the machine as wall time does."
    echo "Sender log share: from ckpt-info --json of the epochs the last round kept (mean per epoch, all tasks)."
    echo "Heap copy-on-write: CKPT_SNAPSHOT=off, the writers share the heap as a fork does instead of"
    echo "getting a copy made at the stop (the default, runtime/heap.c): the stop is then the fork alone,"
    echo "and every heap page a task writes while its writer lives faults (bench/memcost.c)."
    echo "Goals: overhead <= 5% at -i 10; stop <= 1.5x bare fork."
    for v in i10 "${extra[1]}"; do
        bench_said "$v, round $rounds" "err.$v.$rounds" 40
    done
    echo
    echo "end: $(bench_machine)"
} >"$work/table"
cat "$work/table"
[[ -n $out ]] && cp "$work/table" "$out"
if [[ -n $keep ]]; then
    mkdir -p "$keep"
    cp -r "$work"/ckpt.i2 "$work"/out.* "$work"/err.* "$work"/pvmlog.* "$work"/info.* "$keep"/ 2>/dev/null || true
fi
exit 0
