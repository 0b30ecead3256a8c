#!/usr/bin/env bash
# hostbench.sh: what ckpt-run's watch over the hosts (issue 17) costs and
# buys, on three hosts made as network namespaces of this computer
# (tests/lib/nshosts.sh: host 0 runs the master pvmd and ckpt-run, hosts 1
# and 2 slave pvmds; real pvmds, real jacobi tasks spread over the three by
# PVM), in two parts:
#
#   cost   the heartbeat on a failure-free run: `ckpt-run -n 4 -i 10` of
#          jacobi N ITERS over the three hosts, `--host-timeout 0` (no
#          heartbeat) against the default (3 s: a ckpt-beat on each slave
#          host, a message to ckpt-run every 0.5 s), interleaved round by
#          round (A B, A B, ...; --abba: A B, B A, A B, ...: a load that
#          drifts weighs on both alike; the machine may be shared).  Per run: wall,
#          CPU of the job (ckpt-run, and every task the three pvmds reaped:
#          the jacobi copies and the ckpt-beats), CPU of the three pvmds,
#          packets and bytes on the slave hosts' links.  Reported: medians,
#          quartiles, the B/A ratio of each round and their median and range.
#          Each round then runs an idle job A and B (`ckpt-run -i 0 ./idle S`,
#          one task on ckpt-run's host that sleeps S s: 10, --quick 4): what
#          the beats alone cost, B minus A: CPU, and packets and bytes per
#          second on the slave hosts' links.
#   loss   time from a host's loss to the computation resumed: `ckpt-run
#          -vv -i I -c 1 -k 100 -n 4` of jacobi (full images, all kept) over
#          a fresh three-host machine each run;
#          once checkpoint K is committed, slave host 2 is lost:
#            kill   its pvmd SIGKILLed
#            cut    its link down (it runs on, unreachable)
#            off    everything on it SIGKILLed (power off)
#            task   (the baseline) one job task on host 2 SIGKILLed, the
#                   host left alone: PVM tells ckpt-run at once
#          (what to lose is looked up at checkpoint 1: the console and /proc
#          take a second or two; the loss itself comes at the commit line)
#          ckpt-run's lines are timestamped as they arrive (bash's
#          EPOCHREALTIME, no fork); from the loss to: "host ... left the
#          virtual machine" (detected), the last "tX joined" of the restarted
#          tasks (each reads its image before it says hello: images read),
#          "recovered from checkpoint K" (every task back and told the new
#          task ids: computing again).  The restored epoch's images are then
#          read again by bench/imgread.c, in parallel (the page cache is warm,
#          as it is for the restart), for the goal: loss to resumed <= 5 s
#          detection + image read + 1 s.  Each run's output must equal the
#          plain program's; exactly one recovery, from the last checkpoint
#          committed before the loss was noticed, and no other host taken
#          for a lost one (a false alarm: the run is marked, and its
#          detection counted to ckpt-run's first reaction).
#
#   bench/hostbench.sh [-o FILE] [--build DIR] [--rounds R] [--runs M]
#                      [--kinds "kill cut off task"] [--n N] [--iters I]
#                      [--target SECONDS] [--only cost|loss] [--abba] [--quick]
#
#   --rounds R     cost: rounds of A and B (default 5)
#   --abba         cost: B first in every second round
#   --runs M       loss: runs per kind (default 5)
#   --kinds LIST   loss: kinds of loss, in turn within each round (default
#                  "kill cut off task")
#   --n N          grid (default 2048: 16 MiB of state per task, 4 tasks)
#   --iters I      cost: iterations (default: calibrated so that one run
#                  lasts --target seconds, default 30); the loss runs use a
#                  third of them (about 10 s of computing)
#   --after K      loss: the commit after which the host is lost (default 3)
#   --interval S   loss: ckpt-run -i (default 1)
#   --quick        1 round, 1 run per kind, N = 1024, target 8 s: a smoke
#                  test of the script, not figures to quote
#   -o FILE        also write the tables (markdown) to FILE
#
# Needs root and ip (iproute2): exits 77 otherwise.  Exit status 0: every run
# ended well (output identical, the loss detected and recovered once); 1: a
# run did not (the tables say which); 2: usage.  Cleans up every namespace,
# pvmd and folder it made (check with `ip netns list`).  About 25 minutes in
# full mode (load 5-10); a benchmark run by hand, never by ctest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
out='' build=$top/build-bench rounds=5 runs=5 kinds="kill cut off task" n='' iters='' target='' only='' quick=0
after=3 interval=1 abba=0
while (($#)); do
    case $1 in
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --kinds) kinds=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --abba) abba=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "hostbench.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done
for k in $kinds; do
    [[ $k == kill || $k == cut || $k == off || $k == task ]] || { echo "hostbench.sh: no kind of loss '$k'" >&2; exit 2; }
done
[[ -z $only || $only == cost || $only == loss ]] || { echo "hostbench.sh: --only cost or loss" >&2; exit 2; }
if ((quick)); then
    rounds=1 runs=1 n=${n:-1024} target=${target:-8} idle_s=4
fi
idle_s=${idle_s:-10}
n=${n:-2048} target=${target:-30}
export PVM_ROOT=${PVM_ROOT:-/usr/lib/pvm3} PVM_ALLOW_ROOT=1
# shellcheck source=../tests/lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../tests/lib/nshosts.sh
. "$top/tests/lib/nshosts.sh"
nshosts_need_root
# shellcheck source=lib.sh
. "$here/lib.sh"
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
unset CKPT_CHAIN CKPT_COMPRESS CKPT_DISK_MBS CKPT_SNAPSHOT CKPT_FAULT CKPT_HOLD CKPT_INTERVAL CKPT_DIR CKPT_LOG
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/hostbench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
cc -O2 -Wall -Wno-unknown-pragmas -o "$work/plain" "$top/samples/jacobi/jacobi.c" -lpvm3
"$CKPT_CC" -O2 -Wall -Wno-unknown-pragmas -Wno-ckpt-unsaved -o "$work/jacobi" "$top/samples/jacobi/jacobi.c" -lpvm3
cat >"$work/idle.c" <<'EOF2'
/* idle: a job task that enrolls, sleeps SECONDS and leaves */
#include <stdlib.h>
#include <unistd.h>
#include <pvm3.h>
int main(int argc, char **argv)
{
    pvm_mytid();
    sleep(argc > 1 ? (unsigned)atoi(argv[1]) : 10);
    pvm_exit();
    return 0;
}
EOF2
"$CKPT_CC" -O2 -Wall -o "$work/idle" "$work/idle.c" -lpvm3
cc -O2 -Wall -I"$top/format" -o "$work/imgread" "$here/imgread.c" "$LIBCKPT" -lz
cd "$work"
bad=0
: >tables
say() { echo "# $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
stamp() {   # stdin lines -> "EPOCHREALTIME line", as they arrive
    local l
    while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
}
# med FILE: "median q1 q3 min max n" of the numbers in FILE (one a line)
med() {
    sort -g "$1" | awk '{ a[++n] = $1 }
        function mid(lo, hi, c) { c = hi - lo + 1; return c % 2 ? a[lo + (c - 1) / 2] : (a[lo + c / 2 - 1] + a[lo + c / 2]) / 2 }
        END { if (!n) { print "- - - - - 0"; exit }
              h = n > 1 ? int(n / 2) : 1
              printf "%.3f %.3f %.3f %.3f %.3f %d\n", mid(1, n), mid(1, h), mid(n - h + 1, n), a[1], a[n], n }'
}
# proc_cpu PID: "own children" CPU seconds of a process (utime+stime, cutime+cstime)
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " ");
        printf "%.2f %.2f\n", (f[12] + f[13]) / hz, (f[14] + f[15]) / hz }' "/proc/$1/stat" 2>/dev/null || echo "0 0"
}
# pvmds_cpu: own and children's CPU seconds summed over the machine's pvmds
pvmds_cpu() {
    local k p o=0 c=0 a b
    for ((k = 0; k < NSHOSTS_N; k++)); do
        p=$(nshosts_pvmd_pid "$k")
        [[ -n $p ]] || continue
        read -r a b < <(proc_cpu "$p")
        o=$(awk -v x="$o" -v y="$a" 'BEGIN { print x + y }')
        c=$(awk -v x="$c" -v y="$b" 'BEGIN { print x + y }')
    done
    echo "$o $c"
}
# links: "packets bytes" that went through the slave hosts' ports of the
# switch, both ways
links() {
    local k d s p=0 b=0
    for ((k = 1; k < NSHOSTS_N; k++)); do
        for d in rx tx; do
            s=$(ip netns exec "$NSHOSTS_SWITCH" cat "/sys/class/net/p$k/statistics/${d}_packets" "/sys/class/net/p$k/statistics/${d}_bytes" | paste -sd' ')
            p=$((p + ${s% *})) b=$((b + ${s#* }))
        done
    done
    echo "$p $b"
}

# ---------------------------------------------------------------- cost
# placement PATTERN: how many of the machine's tasks whose command ends in
# PATTERN run on each host, "h0/h1/h2"
placement() {
    local tasks k c out=''
    tasks=$(pvmvm_tasks | awk -v p="$1" '$3 ~ p"$" { print $2 }' | sort)
    for ((k = 0; k < NSHOSTS_N; k++)); do
        c=$(comm -12 <(echo "$tasks") <(nshosts_pids "$k" | sort) | grep -c . || true)
        out+="${out:+/}$c"
    done
    echo "$out"
}
# cost_run NAME TIMEOUT NTASKS ARGS...: one failure-free ckpt-run; leaves
# out.NAME, err.NAME, res.NAME ("wall cpu_job cpu_pvmds packets bytes rc")
# and place.NAME (its tasks per host, for NTASKS > 1)
cost_run() {
    local name=$1 ht=$2 nt=$3 rc=0 t0 t1 p0 p1 l0 l1 r0 pid pl='-' deadline
    shift 3
    read -r -a p0 < <(pvmds_cpu)
    read -r -a l0 < <(links)
    t0=$(bench_now)
    # (ckpt-run on host 0, as on a real master: the beats reach it directly)
    /usr/bin/time -f '%U %S' -o "time.$name" timeout -k 5 1200 \
        ip netns exec "$(nshosts_ns 0)" env PVM_TMP="$PVMVM_TMP" "$CKPT_RUN" --host-timeout "$ht" -d "$work/ckpt.$name" \
        "$@" >"out.$name" 2>"err.$name" &
    pid=$!
    if ((nt > 1)); then
        # where PVM put the copies (it does not always choose the same)
        deadline=$((SECONDS + 60))
        while kill -0 $pid 2>/dev/null && ((SECONDS < deadline)); do
            pl=$(placement /jacobi)
            (($(awk -F/ '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s }' <<<"$pl") < nt)) || break
            sleep 0.3
        done
    fi
    echo "$pl" >"place.$name"
    wait $pid || rc=$?
    t1=$(bench_now)
    read -r -a l1 < <(links)
    pvmvm_wait_idle 30 || say "$name: tasks still listed 30 s after the job ended"
    sleep 0.2       # (the pvmds reap their tasks)
    read -r -a p1 < <(pvmds_cpu)
    r0=$(awk '{ printf "%.2f", $1 + $2 }' "time.$name" 2>/dev/null || echo 0)
    awk -v w="$(bench_secs "$t0" "$t1")" -v r="$r0" -v o0="${p0[0]}" -v c0="${p0[1]}" -v o1="${p1[0]}" -v c1="${p1[1]}" \
        -v pk=$((l1[0] - l0[0])) -v by=$((l1[1] - l0[1])) -v rc=$rc \
        'BEGIN { printf "%s %.2f %.2f %d %d %d\n", w, r + c1 - c0, o1 - o0, pk, by, rc }' >"res.$name"
    rm -rf "$work/ckpt.$name"
}

cost_part() {
    local r v ht res same=1 calw
    say "cost: 3 hosts; $(bench_machine)"
    nshosts_start 3 --ep "$work" --wd "$work"
    # A first run, with the heartbeat, also when --iters is given: PVM's
    # default placement starts at the host it last spawned on, and ckpt-run
    # spawns the beats by host first; from this run on, every -n 4 start puts
    # the copies on the same hosts, A's and B's alike (the table's last
    # column shows it).  Without --iters it also calibrates.
    local cal=$(( n >= 2048 ? 300 : 1000 ))
    cost_run cal 3 4 -i 0 -n 4 ./jacobi "$n" "$cal"
    if [[ -z $iters ]]; then
        calw=$(awk '{ print $1 }' res.cal)
        iters=$(awk -v c="$cal" -v s="$calw" -v t="$target" \
            'BEGIN { i = int(t / (s / c) / 100 + 0.5) * 100; print i < 100 ? 100 : i }')
        say "calibration: $cal iterations in $calw s under ckpt-run -i 0: $iters for about $target s"
    fi
    load_cost0="$(bench_machine)"
    : >cost.rows; : >idle.rows
    local order
    for ((r = 1; r <= rounds; r++)); do
        order="A B"
        ((abba == 0 || r % 2)) || order="B A"
        for v in $order; do
            if [[ $v == A ]]; then ht=0; else ht=3; fi
            say "cost round $r/$rounds $v (--host-timeout $ht): jacobi $n $iters; load $(load)"
            cost_run "$v.$r" $ht 4 -v -i 10 -n 4 ./jacobi "$n" "$iters"
            read -r -a res <"res.$v.$r"
            echo "$r $v $(load | cut -d' ' -f1) ${res[*]} $(grep -c '^ckpt-run: checkpoint [0-9]* committed' "err.$v.$r" || true) $(cat "place.$v.$r")" >>cost.rows
            say "  wall ${res[0]} s, CPU job ${res[1]} s, pvmds ${res[2]} s, slave links ${res[3]} packets ${res[4]} bytes, tasks per host $(cat "place.$v.$r"), exit ${res[5]}"
            if [[ ${res[5]} != 0 ]] || ! cmp -s out.A.1 "out.$v.$r"; then
                same=0; bad=1; say "  round $r $v: exit ${res[5]} or output differs from round 1 A"
            fi
        done
        # the beats alone: a job that sleeps on ckpt-run's host, nothing
        # else on the slave hosts' links but the pvmds' own
        for v in $order; do
            if [[ $v == A ]]; then ht=0; else ht=3; fi
            cost_run "idle.$v.$r" $ht 1 -i 0 ./idle "$idle_s"
            read -r -a res <"res.idle.$v.$r"
            echo "$r $v $(load | cut -d' ' -f1) ${res[*]}" >>idle.rows
            say "  idle job $v: ${res[*]}"
            [[ ${res[5]} == 0 ]] || { bad=1; say "  idle job $v: exit ${res[5]}"; }
        done
    done
    load_cost1="$(bench_machine)"
    nshosts_stop

    # tables
    for col in 4 5 6 7 8; do
        for v in A B; do awk -v v=$v -v c=$col '$2 == v { print $c }' cost.rows >"col.$v.$col"; done
        paste "col.A.$col" "col.B.$col" | awk '{ if ($1 > 0) printf "%.4f\n", $2 / $1; else print 0 }' >"ratio.$col"
    done
    {
        echo "### hostbench cost: jacobi $n $iters, ckpt-run -v -i 10 -n 4 over 3 namespace hosts, --host-timeout 0 (A) vs 3 (B, default), $rounds rounds, $( ((abba)) && echo "A B, then B A, in turn" || echo "A then B each round")"
        echo
        echo "$load_cost0 (start); end: $(awk -F'; ' '{ print $3 }' <<<"$load_cost1")"
        echo
        echo "| round | variant | load (1 min) | wall s | CPU job s | CPU pvmds s | slave-link packets | slave-link bytes | commits | tasks on h0/h1/h2 | exit |"
        echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
        awk '{ printf "| %s | %s | %s | %.2f | %.2f | %.2f | %d | %d | %s | %s | %s |\n", $1, $2 == "A" ? "A: --host-timeout 0" : "B: --host-timeout 3", $3, $4, $5, $6, $7, $8, $10, $11, $9 }' cost.rows
        echo
        echo "| measure | A median (q1-q3) | B median (q1-q3) | B/A per round: median (min .. max) |"
        echo "|---|---:|---:|---:|"
        local label col a b q
        for col in 4 5 6 7 8; do
            case $col in 4) label="wall s" ;; 5) label="CPU job s" ;; 6) label="CPU pvmds s" ;; 7) label="slave-link packets" ;; 8) label="slave-link bytes" ;; esac
            read -r -a a < <(med "col.A.$col")
            read -r -a b < <(med "col.B.$col")
            read -r -a q < <(med "ratio.$col")
            printf '| %s | %s (%s-%s) | %s (%s-%s) | %s (%s .. %s) |\n' "$label" "${a[0]}" "${a[1]}" "${a[2]}" \
                "${b[0]}" "${b[1]}" "${b[2]}" "${q[0]}" "${q[3]}" "${q[4]}"
        done
        echo
        echo "The beats alone: a job that only sleeps $idle_s s (\`ckpt-run -i 0 ./idle $idle_s\`, its one task on ckpt-run's host), in the same order:"
        echo
        echo "| measure (idle job) | A median (min .. max) | B median (min .. max) | B - A per round: median (min .. max) | B - A per second |"
        echo "|---|---:|---:|---:|---:|"
        for col in 4 5 6 7 8; do
            case $col in 4) label="wall s" ;; 5) label="CPU job s (ckpt-run, beats)" ;; 6) label="CPU pvmds s" ;; 7) label="slave-link packets" ;; 8) label="slave-link bytes" ;; esac
            for v in A B; do awk -v v=$v -v c=$col '$2 == v { print $c }' idle.rows >"icol.$v"; done
            paste icol.A icol.B | awk '{ print $2 - $1 }' >idiff
            read -r -a a < <(med icol.A)
            read -r -a b < <(med icol.B)
            read -r -a q < <(med idiff)
            printf '| %s | %s (%s .. %s) | %s (%s .. %s) | %s (%s .. %s) | %s |\n' "$label" "${a[0]}" "${a[3]}" "${a[4]}" \
                "${b[0]}" "${b[3]}" "${b[4]}" "${q[0]}" "${q[3]}" "${q[4]}" \
                "$(awk -v d="${q[0]}" -v w="$idle_s" 'BEGIN { printf "%.3g", d / w }')"
        done
        echo
        echo "(2 slave hosts x 2 beats a second = 4 beats/s expected; packets per beat = packets/s / 4.)"
        echo
        echo "Output of every run identical to round 1's A: $( ((same)) && echo yes || echo NO)."
        bench_said "round 1, B" err.B.1 6
        echo
    } >>tables
}

# ---------------------------------------------------------------- loss
# job_tids K: the job's tasks on host K (tX as ckpt-run names them)
job_tids() { nshosts_tasks "$1" "$work/jacobi" | awk '{ print "t" $1 }' | sort | paste -sd' '; }
# when FILE REGEX: the timestamp of the first line matching REGEX (after
# line FROM, if given)
when() { awk -v re="$2" -v from="${3:-0}" 'NR > from && $0 ~ re { print $1; exit }' "$1"; }
lineno() { awk -v re="$2" '$0 ~ re { print NR; exit }' "$1"; }
wait_line() {   # FILE REGEX PID SECONDS
    local deadline=$((SECONDS + $4))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        kill -0 "$3" 2>/dev/null && ((SECONDS < deadline)) || return 1
        sleep 0.01
    done
}

loss_one() {
    local kind=$1 r=$2 host=2 addr pid rc=0 t0='' tids='' ok=1 name="$1.$2" hostpid victim='' ll tl tj tr tb edir k why=''
    nshosts_start 3 --ep "$work" --wd "$work"
    addr=$(nshosts_addr "$host")
    if [[ ! -s expected ]]; then
        pvmvm_run 600 "$work/plain" "$n" "$liters" 4 >expected 2>plain.err || pvmvm_fail "plain run failed: $(cat plain.err)"
        pvmvm_wait_idle 20 || true
    fi
    rm -rf "ckpt.$name"
    : >"$work/hold"
    export CKPT_HOLD=$work/hold     # (the job cannot end before it is released)
    # (-c 1: every image full, so that the restored epoch's images are
    # what the restart reads, and imgread can read them again; -k 100: none
    # of them deleted before it does)
    nshosts_exec 0 "$CKPT_RUN" -vv -i "$interval" -c 1 -k 100 -d "$work/ckpt.$name" -n 4 ./jacobi "$n" "$liters" \
        >"out.$name" 2> >(stamp >"err.$name") &
    pid=$!
    unset CKPT_HOLD
    # what to lose, found once the job runs (finding it takes a second or
    # two: the console, /proc), then lost at the commit
    if ! wait_line "err.$name" "ckpt-run: checkpoint 1 committed" $pid 300; then
        why="no checkpoint 1"
    else
        tids=$(job_tids "$host")
        [[ -n $tids ]] || why="no task of the job on host $host"
        hostpid=$(nshosts_pvmd_pid "$host")
        victim=$(comm -12 <(pvmvm_tasks | awk '$3 ~ /jacobi$/ { print $2 }' | sort) <(nshosts_pids "$host" | sort) | head -n 1 || true)
    fi
    if [[ -z $why ]] && wait_line "err.$name" "ckpt-run: checkpoint $after committed" $pid 300; then
        t0=$EPOCHREALTIME
        case $kind in
        kill) nshosts_kill_pvmd "$host" "$hostpid" ;;
        cut) nshosts_cut "$host" ;;
        off) nshosts_kill_all "$host" ;;
        task) kill -KILL "$victim" ;;
        esac
        echo "$t0" >"t0.$name"
        say "$name: $( [[ $kind == task ]] && echo "task pid $victim on host $host" || echo "host $host ($addr, tasks $tids)") lost ($kind) after checkpoint $after; load $(load)"
        wait_line "err.$name" "recovered from checkpoint\|restarted the job\|giving up" $pid 300 || why="no recovery"
    else
        why+=" no checkpoint $after"
    fi
    rm -f "$work/hold"
    local deadline=$((SECONDS + 300))
    while kill -0 $pid 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill -9 $pid; why+=" ckpt-run still ran after 300 s"; }
    wait $pid || rc=$?
    sleep 0.2       # (the stamping loop's last lines)
    [[ -z $why ]] || ok=0
    ((rc == 0)) || { ok=0; why+=" exit $rc"; }
    cmp -s expected "out.$name" || { ok=0; why+=" output differs"; }
    if [[ $kind == task ]]; then
        ll=$(lineno "err.$name" "recovered from checkpoint")
        tl=''
    else
        ll=$(lineno "err.$name" "host $addr .* left the virtual machine")
        tl=$(when "err.$name" "host $addr .* left the virtual machine")
        [[ -n $tl ]] || { ok=0; why+=" no 'left the virtual machine' line"; }
    fi
    tr=$(when "err.$name" "recovered from checkpoint")
    k=$(sed -n 's/.*recovered from checkpoint \([0-9]*\) in.*/\1/p' "err.$name" | head -n 1)
    # resumed from the last checkpoint committed before the loss was noticed
    local last
    last=$(awk -v upto="${ll:-0}" 'NR < upto && /ckpt-run: checkpoint [0-9]+ committed/ { for (i = 1; i < NF; i++) if ($i == "checkpoint") c = $(i + 1) } END { print c }' "err.$name")
    [[ -n $k && $k == "$last" ]] || { ok=0; why+=" recovered from '$k', the last committed was '$last'"; }
    [[ $(grep -c 'recovered from checkpoint\|restarted the job from the beginning' "err.$name") == 1 ]] || { ok=0; why+=" not one recovery"; }
    local rsec par=- raw=- stored=-
    rsec=$(sed -n 's/.*recovered from checkpoint [0-9]* in \([0-9.]*\) s.*/\1/p' "err.$name" | head -n 1)
    # the rollback began (ckpt-run's "in X s" counts from there); for a host,
    # that is when its loss was noticed
    tb=$(awk -v a="${tr:-0}" -v b="${rsec:-0}" 'BEGIN { printf "%.6f", a - b }')
    [[ $kind != task ]] || tl=$tb
    # a live host taken for a lost one (its beats late): ckpt-run reacted to
    # that first; detection is then counted to the earlier reaction
    local alarm
    alarm=$(grep 'left the virtual machine' "err.$name" | grep -v "host $addr " | sed 's/^[^ ]* //' | head -n 1 || true)
    if [[ -n $alarm ]]; then
        ok=0; why+=" a live host taken for lost: ${alarm:0:90}"
        echo "$name" >>alarms
        tl=$(awk -v a="${tl:-0}" -v b="$tb" 'BEGIN { printf "%.6f", (a > 0 && a < b) ? a : b }')
    fi
    # the last hello of a restarted task before the recovery's end
    tj=$(awk -v from="${ll:-0}" -v tl="${tl:-0}" '$1 >= tl && / joined \(pid/ { t = $1 } /recovered from checkpoint/ { print t; exit }' "err.$name")
    edir=$work/ckpt.$name/epoch.$k
    if [[ -n $k && -d $edir ]]; then
        local imgs=("$edir"/*.img)
        "$work/imgread" -p "${imgs[@]}" >"par.$name" 2>&1 || true
        par=$(awk '$1 == "total" { printf "%.3f", $9 / 1000 }' "par.$name")
        raw=$(awk '$1 == "total" { printf "%.1f", $5 / 1048576 }' "par.$name")
        stored=$(awk '$1 == "total" { printf "%.1f", $7 / 1048576 }' "par.$name")
    fi
    ((ok)) || { bad=1; say "$name: FAILED:$why"; }
    awk -v kind="$kind" -v r="$r" -v t0="${t0:-0}" -v tl="${tl:-0}" -v tj="${tj:-0}" -v tr="${tr:-0}" -v rs="${rsec:--}" \
        -v par="${par:-0}" -v raw="$raw" -v st="$stored" -v ok=$ok -v tids="${tids// /,}" -v ld="$(load | cut -d' ' -f1)" -v k="${k:--}" 'BEGIN {
        d = tl > 0 ? tl - t0 : -1; j = tj > 0 ? tj - tl : -1; s = tr > 0 && tj > 0 ? tr - tj : -1; tot = tr > 0 ? tr - t0 : -1
        printf "%s %s %s %.3f %.3f %.3f %.3f %s %s %s %s %s %s %s\n", kind, r, ld, d, j, s, tot, rs, par, raw, st, kind == "task" ? "(one)" : tids, ok ? "yes" : "NO", k }' >>loss.rows
    say "  $(tail -n 1 loss.rows)"
    nshosts_stop
    rm -rf "$work/ckpt.$name"
}

loss_part() {
    local r kind
    liters=$(( iters / 3 ))
    ((liters >= 100)) || liters=100
    load_loss0="$(bench_machine)"
    say "loss: jacobi $n $liters, -i $interval, host 2 lost after checkpoint $after; $load_loss0"
    : >loss.rows
    for ((r = 1; r <= runs; r++)); do
        for kind in $kinds; do loss_one "$kind" "$r"; done
    done
    load_loss1="$(bench_machine)"
    {
        echo "### hostbench loss: jacobi $n $liters, ckpt-run -vv -i $interval -n 4 over 3 namespace hosts, host 2 lost after checkpoint $after, $runs run(s) per kind"
        echo
        echo "$load_loss0 (start); end: $(awk -F'; ' '{ print $3 }' <<<"$load_loss1")"
        echo
        echo "Seconds from the loss (t0, taken just before the kill, cut or power-off) to each line of ckpt-run, timestamped as it arrived:"
        echo "detected = \"host ... left the virtual machine\"; restarted = from there to the last \"tX joined\" of the restarted tasks (survivors killed,"
        echo "every task spawned again, each reading its image before its hello); resumed = from there to \"recovered from checkpoint K\" (groups, the new"
        echo "task ids sent: computing again); total = loss to resumed.  Read: the restored epoch's images read again by bench/imgread.c -p"
        echo "(all at once, page cache warm).  Goal: total <= 5 s detection + read + 1 s, read here as: detected <= 5 s and"
        echo "total <= 5 + read + 1 s (\"goal met\"); stricter, the recovery alone (restarted + resumed) <= read + 1 s (\"strict\")."
        echo
        echo "| kind | run | load | detected s | restarted s | resumed s | total s | ckpt-run's \"in X s\" | read s (imgread -p) | images raw / on disk MiB | tasks on the lost host | goal met | strict | ok |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"
        awk '{ goal = ($4 <= 5 && $7 >= 0 && $7 <= 5 + $9 + 1) ? "yes" : "no"
               strict = ($5 >= 0 && $5 + $6 <= $9 + 1) ? "yes" : "no"
               printf "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %s | %s / %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, goal, strict, $13 }' loss.rows
        echo
        if [[ -s alarms ]]; then
            echo "**False alarms**: in $(wc -l <alarms) run(s) ($(paste -sd' ' alarms)) ckpt-run also declared a live host lost (its beats were late); those runs are marked NO."
            echo
        fi
        echo "| kind | detected median / max | restarted median / max | resumed median / max | total median / max | read median | goal met | strict |"
        echo "|---|---:|---:|---:|---:|---:|---|---|"
        local a b c d e
        for kind in $kinds; do
            awk -v k="$kind" '$1 == k { print $4 }' loss.rows >c.d; read -r -a a < <(med c.d)
            awk -v k="$kind" '$1 == k { print $5 }' loss.rows >c.j; read -r -a b < <(med c.j)
            awk -v k="$kind" '$1 == k { print $6 }' loss.rows >c.s; read -r -a c < <(med c.s)
            awk -v k="$kind" '$1 == k { print $7 }' loss.rows >c.t; read -r -a d < <(med c.t)
            awk -v k="$kind" '$1 == k { print $9 }' loss.rows >c.p; read -r -a e < <(med c.p)
            printf '| %s | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f | %s of %s runs | %s of %s |\n' "$kind" "${a[0]}" "${a[4]}" \
                "${b[0]}" "${b[4]}" "${c[0]}" "${c[4]}" "${d[0]}" "${d[4]}" "${e[0]}" \
                "$(awk -v k="$kind" '$1 == k && $4 <= 5 && $7 >= 0 && $7 <= 5 + $9 + 1 { g++ } END { print g + 0 }' loss.rows)" "${a[5]}" \
                "$(awk -v k="$kind" '$1 == k && $5 >= 0 && $5 + $6 <= $9 + 1 { g++ } END { print g + 0 }' loss.rows)" "${a[5]}"
        done
        echo
        local first
        first=$(awk 'NR == 1 { print "err." $1 "." $2 }' loss.rows)
        if [[ -f $first ]]; then
            echo "ckpt-run -vv said ($first, timestamps relative to the loss; checkpoint requests and the first joins left out):"
            echo
            echo '```'
            awk -v t0="$(cat "t0.${first#err.}" 2>/dev/null || echo 0)" '/left the virtual machine/ { on = 1 }
                on && !/requested from/ { l = $0; sub(/^[^ ]* /, "", l); printf "%+7.3f  %s\n", $1 - t0, substr(l, 1, 200) }' "$first" | head -n 14
            echo '```'
        fi
        echo
    } >>tables
}

if [[ $only != loss ]]; then cost_part; fi
if [[ $only != cost ]]; then
    if [[ -z $iters ]]; then
        # calibrate on a machine of its own
        nshosts_start 3 --ep "$work" --wd "$work"
        cal=$(( n >= 2048 ? 300 : 1000 ))
        cost_run cal 0 4 -i 0 -n 4 ./jacobi "$n" "$cal"
        iters=$(awk -v c="$cal" -v s="$(awk '{ print $1 }' res.cal)" -v t="$target" \
            'BEGIN { i = int(t / (s / c) / 100 + 0.5) * 100; print i < 100 ? 100 : i }')
        nshosts_stop
    fi
    loss_part
fi
cat tables
[[ -z $out ]] || cp tables "$out"
say "end: $(bench_machine); namespaces left of this run: $(ip netns list | grep -c "^ckpt-$$-" || true)"
exit $bad
