#!/usr/bin/env bash
# staticbench.sh: incremental against full checkpoints (issue 16, benchmarks
# 2 and 3) on a job with a large state of which little changes between two
# checkpoints: bench/staticjob.c (`staticjob MIB ITERS STRIDE STEPS`), 4 tasks
# (the root spawns 3 copies), each with MIB MiB of doubles; every iteration
# rewrites a window of 5 % of a task's array that creeps along by STRIDE
# doubles per iteration, and passes one value around a ring of the tasks.
# STRIDE is chosen so that the window moves --move % of the array (default 5)
# per checkpoint interval of the plain run: between two checkpoints about
# 5 % + that of the state changes (--move 0: the same 5 % rewritten).  Under one private pvmd (tests/lib/pvmvm.sh), three variants,
# interleaved, round after round:
#
#   plain   cc -O2 staticjob.c -lpvm3, started from the shell
#   full    ckpt-cc -O2, `ckpt-run -v -i INTERVAL` with CKPT_CHAIN=1: every
#           checkpoint a full image (CKPT_CHAIN=N bounds the chain of
#           incremental images; until incremental images exist, every
#           checkpoint is a full one anyway and both variants match)
#   incr    `ckpt-run -v -i INTERVAL`, default settings (incremental images)
#   with --settings also, each deflating every image at level 1 or none
#   (-z auto, the default, decides by measurement): full-z1, full-z0,
#   incr-z1, incr-z0 (no recovery runs then)
#
# Reported per variant: wall time and CPU seconds of the whole job, overhead
# against plain, checkpoints committed, raw and on-disk MiB per checkpoint
# (all tasks; from ckpt-run's "checkpoint K committed: N tasks, R MiB in S MiB
# on disk, slowest write W ms, round T ms"), the first checkpoint apart from
# the later ones (an incremental chain starts with a full image), slowest
# write and round, the tasks' stop per checkpoint (CKPT_VERBOSE=3), and the
# ratio of full to incr on-disk bytes per checkpoint.
#
# Then recovery (benchmark 3): for the full and the incr setting, one more run
# (`-k 100`, so the epoch recovered from stays on disk) in which a spawned task
# is killed (SIGKILL) as soon as ckpt-run reports checkpoint F committed, F the
# last but one checkpoint of the fewest any run of that setting committed (a
# late epoch: the incremental chain is long; the last one may be taken as the
# tasks end).  Reported: ckpt-run's "recovered
# from checkpoint K in X s", and what `ckpt-info DIR` says of epoch K (its
# chain depth, once images are incremental).  The job is held at its exit
# (CKPT_HOLD) until the kill has landed, so it cannot end first.
#
# Every run's output must equal plain's: the script exits 1 (after printing
# the table) if one differs or fails.
#
#   bench/staticbench.sh [--quick] [-o FILE] [--build DIR] [--mib MIB]
#                        [--iters I] [--target SECONDS] [--rounds R]
#                        [--interval SECONDS] [--steps K] [--no-recovery]
#                        [--keep DIR] [--move PCT] [--settings]
#
#   full (default): 256 MiB per task (1 GiB of state in all), ITERS calibrated
#                   from two short plain runs so that the plain run lasts
#                   --target seconds (default 60), -i 10, 2 rounds; about
#                   12 minutes.
#   --quick:        32 MiB per task, a ~8 s plain run, -i 1 (at -i 10 an 8 s
#                   job would never checkpoint), 1 round; about 2 minutes.
#   --steps K       logistic-map rounds per element and iteration (default
#                   12 x 256 / MIB: an iteration computes as long whatever
#                   MIB, 20-40 ms on 2 cores)
#   --iters I       fix the iteration count (no calibration)
#   --no-recovery   skip the recovery runs
#   --keep DIR      copy the logs and the recovery runs' ckpt-info there
#   -o FILE         also write the table to FILE
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib/pvmvm.sh"
. "$here/lib.sh"

quick=0 settings=0 move=5 out= build=$top/build-bench mib= iters= target= rounds= interval= steps= recovery=1 keep= ntasks=4
while (($#)); do
    case $1 in
    --quick) quick=1; shift ;;
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --move) move=$2; shift 2 ;;
    --no-recovery) recovery=0; shift ;;
    --settings) settings=1 recovery=0; shift ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "staticbench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if ((quick)); then
    mib=${mib:-32} target=${target:-8} rounds=${rounds:-1} interval=${interval:-1}
else
    mib=${mib:-256} target=${target:-60} rounds=${rounds:-2} interval=${interval:-10}
fi
steps=${steps:-$(( 12 * 256 / mib > 1 ? 12 * 256 / mib : 1 ))}
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
[[ -n $keep ]] && keep=$(realpath -m "$keep")
# incr runs with the defaults: none inherited from the caller
unset CKPT_CHAIN CKPT_FAULT CKPT_HOLD CKPT_INTERVAL CKPT_DIR CKPT_COMPRESS CKPT_SNAPSHOT CKPT_LOG
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/staticbench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
mkdir -p "$work/plain" "$work/ckpt"
cc -std=c11 -O2 -g -Wall -o "$work/plain/staticjob" "$here/staticjob.c" -lpvm3
"$CKPT_CC" -std=c11 -O2 -g -Wall -o "$work/ckpt/staticjob" "$here/staticjob.c" -lpvm3
pvmvm_start --ep "$work/plain" --wd "$work"
cd "$work"
now() { bench_now; }
secs() { bench_secs "$@"; }
len=$((mib * 131072))   # doubles per task

# Calibration: a 1-iteration run (malloc, fill, final sum) and a CAL-iteration
# one give the fixed cost and the time per iteration of the plain job.
cal=100
t0=$(now)
pvmvm_run 300 ./plain/staticjob "$mib" 1 1 "$steps" "$ntasks" >/dev/null
t1=$(now)
pvmvm_wait_idle 10 || true
t2=$(now)
pvmvm_run 300 ./plain/staticjob "$mib" "$cal" 1 "$steps" "$ntasks" >/dev/null
t3=$(now)
pvmvm_wait_idle 10 || true
fixed=$(secs "$t0" "$t1")
per_ms=$(awk -v a="$(secs "$t0" "$t1")" -v b="$(secs "$t2" "$t3")" -v c="$cal" \
    'BEGIN { p = (b - a) / (c - 1) * 1000; printf "%.2f", (p > 0.1 ? p : 0.1) }')
echo "# calibration: 1 iteration in $fixed s, $cal in $(secs "$t2" "$t3") s: $per_ms ms per iteration" >&2
[[ -n $iters ]] || iters=$(awk -v f="$fixed" -v p="$per_ms" -v t="$target" \
    'BEGIN { i = int((t - f) / (p / 1000) / 10 + 0.5) * 10; print (i < 10 ? 10 : i) }')
# the window moves --move % of the array per checkpoint interval of the plain run
stride=$(awk -v l="$len" -v p="$per_ms" -v i="$interval" -v m="$move" \
    'BEGIN { s = int(l * m / 100 / (i * 1000 / p)); print (s < 1 && m > 0 ? 1 : s) }')
job=("$mib" "$iters" "$stride" "$steps" "$ntasks")
load0=$(bench_machine)
echo "# staticbench $( ((quick)) && echo quick || echo full): staticjob ${job[*]}, -i $interval; $load0" >&2

# ckpt_env VARIANT: the environment of that variant's ckpt-run (PVM_EXPORT
# carries CKPT_CHAIN to the spawned tasks too, whoever reads it)
ckpt_env() {
    case $1 in
    full*) echo -n "CKPT_CHAIN=1 PVM_EXPORT=CKPT_CHAIN " ;;
    esac
    case $1 in
    *-z*) echo "CKPT_COMPRESS=${1#*-z}" ;;     # (ckpt-run passes it on to the tasks)
    esac
}

# run_variant NAME ROUND: one run; leaves out.NAME.ROUND, err.*, pvmlog.*
# (the pvmd log lines of this run), wall.*, cpu.*, rc.*
run_variant() {
    local v=$1 r=$2 rc=0 logstart t0 t1 p0
    logstart=$(wc -l <"$PVMVM_LOG")
    echo "# round $r $v ($(cut -d' ' -f1 /proc/loadavg))" >&2
    rm -rf "$work/ckpt.$v"
    child_cpu "cpu0.$v.$r"
    p0=$(pvmd_child_cpu)
    t0=$(now)
    if [[ $v == plain ]]; then
        timeout -k 5 1200 ./plain/staticjob "${job[@]}" >"out.$v.$r" 2>"err.$v.$r" || rc=$?
    else
        # shellcheck disable=SC2046
        env CKPT_VERBOSE=3 $(ckpt_env "$v") timeout -k 5 1200 "$CKPT_RUN" -v -i "$interval" \
            -d "$work/ckpt.$v" ./ckpt/staticjob "${job[@]}" >"out.$v.$r" 2>"err.$v.$r" || rc=$?
    fi
    t1=$(now)
    echo "$(secs "$t0" "$t1")" >"wall.$v.$r"
    echo "$rc" >"rc.$v.$r"
    pvmvm_wait_idle 20 || true
    child_cpu "cpu1.$v.$r"
    awk -v a="$(cat "cpu0.$v.$r")" -v b="$(cat "cpu1.$v.$r")" -v c="$p0" -v d="$(pvmd_child_cpu)" \
        'BEGIN { printf "%.2f\n", (b - a) + (d - c) }' >"cpu.$v.$r"
    tail -n +"$((logstart + 1))" "$PVMVM_LOG" >"pvmlog.$v.$r"
    rm -rf "$work/ckpt.$v"
}

variants=(plain full incr)
((settings)) && variants=(plain full full-z1 full-z0 incr incr-z1 incr-z0)
for ((r = 1; r <= rounds; r++)); do
    for v in "${variants[@]}"; do run_variant "$v" "$r"; done
done

# ok_out V: identical / reference / FAILED / DIFFERS; sets bad=1 on trouble
bad=0
ok_out() {
    local v=$1 o rc
    rc=$(cat rc."$v".* | sort -u | tr '\n' ' ')
    if [[ $rc != "0 " ]]; then
        bad=1; echo "FAILED (exit $rc)"; return
    fi
    for o in out."$v".*; do
        if ! [[ -s $o ]] || ! cmp -s out.plain.1 "$o"; then bad=1; echo "DIFFERS"; return; fi
    done
    [[ $v == plain ]] && echo "reference" || echo "identical"
}
med() { awk '{ print "x", $1 }' "$@" | bench_median | awk '{ print $2 }'; }
list() { cat "$@" | tr '\n' ' ' | sed 's/ $//'; }

# per checkpointing variant: the commit lines, the stops
for v in "${variants[@]:1}"; do
    cat err."$v".* >"err.$v"
    cat err."$v".* pvmlog."$v".* >"all.$v"
    grep 'ckpt-run: checkpoint [0-9]* committed' "err.$v" >"commits.$v" || true
    # "checkpoint K committed: N tasks, R MiB in S MiB on disk, slowest write W ms, round T ms"
    sed -n 's/.*checkpoint \([0-9]*\) committed: .* \([0-9.]*\) MiB in \([0-9.]*\) MiB on disk, slowest write \([0-9]*\) ms, round \([0-9]*\) ms.*/\1 \2 \3 \4 \5/p' \
        "commits.$v" >"ck.$v"
    # (a task's second writer of one epoch writes its final image as it ends: not a stop)
    sed -n 's/.*\(ckpt\[t[0-9a-f]*\]\): checkpoint \([0-9]*\): writer [0-9]* started after a \([0-9.]*\) ms stop.*/\1 \2 \3/p' \
        "all.$v" | awk '!seen[$1, $2]++ { print $3 }' >"stops.$v"
done

for v in "${variants[@]}"; do ok_out "$v" >"ok.$v"; done
wp=$(med wall.plain.*) cp=$(med cpu.plain.*)
row() {     # row V LABEL
    local v=$1 w c nck first later all sw rd stop chain
    w=$(med wall."$v".*) c=$(med cpu."$v".*)
    nck=$(for f in err."$v".*; do grep -c 'ckpt-run: checkpoint [0-9]* committed' "$f" || true; done | tr '\n' '+' | sed 's/+$//')
    # on disk MiB: the first checkpoint of each run, the later ones (mean), all (mean)
    first=$(awk '$1 == 1 { s += $3; n++ } END { if (n) printf "%.1f", s / n; else print "-" }' "ck.$v")
    later=$(awk '$1 > 1 { s += $3; n++ } END { if (n) printf "%.1f", s / n; else print "-" }' "ck.$v")
    all=$(awk '{ s += $3; n++ } END { if (n) printf "%.1f", s / n; else print "-" }' "ck.$v")
    raw=$(awk '{ s += $2; n++ } END { if (n) printf "%.1f", s / n; else print "-" }' "ck.$v")
    # "(N incremental, chains of up to M images)" in a commit line: the longest chain
    chain=$(sed -n 's/.*incremental, chains of up to \([0-9]*\) images.*/\1/p' "commits.$v" | sort -n | tail -1)
    sw=$(awk '{ print "x", $4 }' "ck.$v" | bench_median | awk '{ print $2 }')
    rd=$(awk '{ print "x", $5 }' "ck.$v" | bench_median | awk '{ print $2 }')
    if [[ -s stops.$v ]]; then
        stop=$(printf '%.1f / %.1f' "$(med "stops.$v")" "$(sort -g "stops.$v" | tail -1)")
    else
        stop=-
    fi
    printf '| %s | %s (%s) | %s%% | %s (%s) | %s%% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$2" \
        "$w" "$(list wall."$v".*)" "$(bench_pct "$wp" "$w")" "$c" "$(list cpu."$v".*)" "$(bench_pct "$cp" "$c")" \
        "$nck" "${chain:-1}" "$raw" "$first" "$later" "$all" "${sw:--}" "${rd:--}" "$stop" "$(cat "ok.$v")"
}
ratio() {   # ratio COLUMN-SELECTOR: full / incr of the mean on-disk MiB of the selected checkpoints
    local sel=$1 f i
    f=$(awk "$sel"' { s += $3; n++ } END { if (n) printf "%.4f", s / n }' ck.full)
    i=$(awk "$sel"' { s += $3; n++ } END { if (n) printf "%.4f", s / n }' ck.incr)
    awk -v f="$f" -v i="$i" 'BEGIN { if (f > 0 && i > 0) printf "%.2f", f / i; else print "-" }'
}

# Recovery (benchmark 3): one run per setting, a spawned task killed as soon
# as checkpoint F is committed.
: >rec.rows
recover() {     # recover V
    local v=$1 dir=$work/ckpt.rec.$1 fewest f p pid victim rc=0 t0 line k rs kill_s wall same depth
    fewest=$(for e in err."$v".*; do grep -c 'ckpt-run: checkpoint [0-9]* committed' "$e" || true; done | sort -n | head -1)
    f=$((fewest > 1 ? fewest - 1 : 1))
    echo "# recovery $v: kill a task once checkpoint $f is committed ($(cut -d' ' -f1 /proc/loadavg))" >&2
    rm -rf "$dir"
    : >"$work/hold"
    t0=$(now)
    # shellcheck disable=SC2046
    env CKPT_HOLD="$work/hold" $(ckpt_env "$v") timeout -k 5 1200 "$CKPT_RUN" -v -i "$interval" -k 100 \
        -d "$dir" ./ckpt/staticjob "${job[@]}" >"out.rec.$v" 2>"err.rec.$v" &
    pid=$!
    while ! grep -q "ckpt-run: checkpoint $f committed" "err.rec.$v" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { rm -f "$work/hold"; pvmvm_fail "recovery $v: ckpt-run ended before checkpoint $f committed: $(tail -5 "err.rec.$v")"; }
        sleep 0.02
    done
    # a spawned copy: a child of the pvmd running the job's program (from
    # /proc, not the console: quicker, and no console to wait for on a busy machine)
    victim=
    for p in $(ps -o pid= --ppid "$PVMVM_PID" || true); do
        [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$work/ckpt/staticjob" ]] && victim=$p
    done
    if [[ -n $victim ]]; then
        kill -9 "$victim"
        kill_s=$(secs "$t0" "$(now)")
        # let the job end once it has recovered
        while ! grep -q 'recovered from checkpoint' "err.rec.$v" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
            sleep 0.05
        done
    else
        # This run was slower than the measured ones: the spawned tasks had
        # left by checkpoint F (the machine is busy).  No kill: not measured.
        kill_s=-
        echo "# recovery $v: every spawned task had left when checkpoint $f committed: not measured" >&2
    fi
    rm -f "$work/hold"
    wait "$pid" || rc=$?
    wall=$(secs "$t0" "$(now)")
    pvmvm_wait_idle 20 || true
    line=$(grep 'recovered from checkpoint' "err.rec.$v" | head -1 || true)
    k=$(sed -n 's/.*recovered from checkpoint \([0-9]*\) in \([0-9.]*\) s.*/\1/p' <<<"$line")
    rs=$(sed -n 's/.*recovered from checkpoint \([0-9]*\) in \([0-9.]*\) s.*/\2/p' <<<"$line")
    if ((rc == 0)) && [[ -n $line ]] && cmp -s out.plain.1 "out.rec.$v"; then
        same=identical
    elif [[ -z $victim ]] && ((rc == 0)) && cmp -s out.plain.1 "out.rec.$v"; then
        same="identical; NOT MEASURED: the job was ending at checkpoint $f (busy machine? raise --target)"
    else
        same="DIFFERS or FAILED (exit $rc$([[ -n $line ]] || echo ", no recovery"))"; bad=1
    fi
    "$CKPT_INFO" "$dir" >"info.rec.$v" 2>&1 || echo "# ckpt-info $dir: exit $?" >&2
    # the block of epoch K in ckpt-info's listing
    awk -v k="${k:-x}" '/^epoch [0-9]+ / { on = ($2 == k) } on' "info.rec.$v" >"epoch.rec.$v"
    # per task "on epoch P (depth D)" or "full" (ckpt-info since incremental images): the deepest
    depth=$(grep -oE '\(depth [0-9]+\)' "epoch.rec.$v" | tr -d '()' | sort -k2 -n | tail -1 || true)
    [[ -n $depth ]] || ! grep -qE '^  0x[0-9a-f]+ .* full$' "epoch.rec.$v" || depth="full images"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$v" "$f" "$kill_s" "${k:--}" "${rs:--}" \
        "${depth:-(not shown)}" "$wall" "$same" >>rec.rows
    rm -rf "$dir"
}
if ((recovery)); then
    recover full
    recover incr
fi

{
    echo "## staticbench ($( ((quick)) && echo quick || echo full) mode): staticjob ${job[*]}, checkpoints every $interval s"
    echo
    echo "$load0 (at start)"
    echo
    echo "State: $ntasks tasks x $mib MiB of doubles ($((ntasks * mib)) MiB); each iteration rewrites a window of"
    echo "5 % of a task's array ($((len / 20 * 8 / 1024)) KiB) with $steps logistic-map rounds per element, the window"
    echo "moving by $stride doubles ($(awk -v s="$stride" -v l="$len" 'BEGIN { printf "%.3f", s / l * 100 }') % of the array) per iteration."
    echo "Calibration: ${per_ms} ms per iteration of the plain job (fixed cost $fixed s): $iters iterations;"
    echo "in $interval s of the plain run the window moves about $move % of the array, so about $((5 + move)) % of the"
    echo "state changes between two checkpoints."
    echo
    echo "| variant | wall s (median; rounds) | overhead | CPU s (median; rounds) | CPU overhead | ckpts committed (per round) | longest chain | raw MiB / ckpt | on disk MiB, 1st ckpt | on disk MiB / later ckpt | on disk MiB / ckpt (all) | slowest write ms (median) | round ms (median) | stop ms median / max | output |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '| plain | %s (%s) | | %s (%s) | | | | | | | | | | | %s |\n' "$wp" "$(list wall.plain.*)" \
        "$cp" "$(list cpu.plain.*)" "$(cat ok.plain)"
    for v in "${variants[@]:1}"; do
        case $v in
        full) row full "full (CKPT_CHAIN=1)" ;;
        incr) row incr "incr (default)" ;;
        *) row "$v" "$v (CKPT_COMPRESS=${v#*-z})" ;;
        esac
    done
    echo
    echo "On-disk bytes per checkpoint, full / incr: $(ratio '$1 > 1') for the checkpoints after the first,"
    echo "$(ratio '1') over all of them (1.00 while every checkpoint is a full image)."
    echo "MiB per checkpoint are all tasks', from ckpt-run -v's commit lines, mean over every round's commits;"
    echo "longest chain: \"chains of up to M images\" in those lines (1: full images only)."
    echo "Stops: every task's, every checkpoint (CKPT_VERBOSE=3 \"writer PID started after a X ms stop\")."
    echo "CPU s: user+sys of every process of the job (tasks, writer children, ckpt-run), from bash \`times\`"
    echo "and the pvmd's cutime/cstime."
    if ((recovery)); then
        echo
        echo "Recovery: one run per setting under \`ckpt-run -v -i $interval -k 100\`, a spawned task killed (SIGKILL)"
        echo "as soon as ckpt-run reports checkpoint F committed (F: the last but one of the fewest any run of that"
        echo "setting committed above)."
        echo
        echo "| setting | F | killed at s | recovered from epoch | recovered in s (ckpt-run) | chain depth (ckpt-info) | job wall s | output vs plain |"
        echo "|---|---:|---:|---:|---:|---|---:|---|"
        cat rec.rows
        for v in full incr; do
            echo
            echo "ckpt-info DIR, epoch recovered from ($v):"
            echo
            echo '```'
            head -n 20 "epoch.rec.$v"
            echo '```'
        done
    fi
    for v in full incr; do
        bench_said "$v, round $rounds" "err.$v.$rounds" 30
    done
    echo
    echo "end: $(bench_machine)"
} >"$work/table"
cat "$work/table"
[[ -n $out ]] && cp "$work/table" "$out"
if [[ -n $keep ]]; then
    mkdir -p "$keep"
    cp "$work"/out.* "$work"/err.* "$work"/pvmlog.* "$work"/info.* "$work"/table "$keep"/ 2>/dev/null || true
fi
if ((bad)); then
    echo "staticbench.sh: FAILED: a run failed or its output differs from the plain run's" >&2
    exit 1
fi
exit 0
