#!/usr/bin/env bash
# msgbench.sh: what the runtime's PVM wrappers, receive queue and sender log
# cost a message.  bench/pingpong_bw.c is built twice, with plain cc and with
# ckpt-cc, and run under one private pvmd (tests/lib/pvmvm.sh) as three
# variants, interleaved so that load drifts hit all of them alike:
#
#   plain     cc -O2 pingpong_bw.c -lpvm3, run directly
#   ckpt      ckpt-cc -O2, run under `ckpt-run -i 0` (no checkpoints; wrappers,
#             queue and sender log active)
#   ckpt-nolog  the same with CKPT_LOG=off (wrappers and queue only): tells the
#             log's share of the overhead from the rest
#
# Each (trial, size, variant) is a fresh pair of tasks, so a size's figures do
# not depend on what earlier sizes left in the log.  Per size: one-way
# ping-pong latency and streaming bandwidth, medians over the trials, and the
# sender log of the first task at its peak in that size's run (under -i 0
# nothing is committed: only the receiver's acknowledgements drop entries).
# Then a long stream of 64 KiB messages under `ckpt-run -i 1` and under
# `-i 0`, showing the log bounded with checkpoints and without them.  Last,
# where a large message's bandwidth goes: 1 and 4 MiB streams by plain, by
# plain holding each sent buffer one send longer (as the log at least does),
# by ckpt without the log and by ckpt.
#
#   bench/msgbench.sh [--quick] [-o FILE] [--build DIR] [--trials N] [--sizes "S..."]
#
#   full (default): sizes 8 B .. 4 MiB in powers of 2, 7 trials (21 from 64 KiB:
#                   a pair of runs moves by +-10% with the way the scheduler
#                   places three busy processes on two cores), ping-pong of
#                   ~8 MiB per direction and stream of ~256 MiB per size (at
#                   least 20 round trips and 16 messages, at most 4000 / 20000:
#                   a stream batch of 50 MB lasts ~0.1 s, long enough that one
#                   scheduling hiccup of the 2-core machine does not set it),
#                   a 20 s stream under -i 1 (8 s under -i 0 and plain);
#                   about 20 minutes.
#   Inside each run the ping-pong is timed in 9 batches and the stream in 5,
#   and the run reports the median batch (pingpong_bw.c).
#   --quick:        sizes 8 B and 64 B .. 4 MiB in powers of 4 (so 1 KiB and
#                   64 KiB are in), 3 trials, ~1 MiB ping-pong / ~16 MiB stream
#                   per size, 3 s streams; about a minute.
#   -o FILE         also write the tables to FILE
#   --build DIR     where ckpt-cc / ckpt-run come from (default build-bench;
#                   built or brought up to date there first)
#   --trials N      trials for every size instead of 7 and 21 (3 with --quick)
#   --sizes "S..."  only these message sizes (bytes) in the first table
#
# Goals: latency overhead <= 10% up to 1 KiB, bandwidth overhead <= 5% from 64 KiB.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib/pvmvm.sh"
. "$here/lib.sh"

quick=0 out= build=$top/build-bench trials= only_sizes=
while (($#)); do
    case $1 in
    --quick) quick=1; shift ;;
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    --sizes) only_sizes=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "msgbench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if ((quick)); then
    sizes=(8 64 256 1024 4096 16384 65536 262144 1048576 4194304)
    bw_trials=${trials:-3} trials=${trials:-3} pp=1048576 st=16777216 stream_s=3 split_trials=2 split_s=2
else
    sizes=() s=8
    while ((s <= 4194304)); do sizes+=("$s"); s=$((s * 2)); done
    bw_trials=${trials:-21} trials=${trials:-7} pp=8388608 st=268435456 stream_s=20 split_trials=7 split_s=3
fi
[[ -n $only_sizes ]] && read -r -a sizes <<<"$only_sizes"
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/msgbench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
cc -O2 -Wall -o "$work/pp_plain" "$here/pingpong_bw.c" -lpvm3
"$CKPT_CC" -O2 -Wall -Wno-ckpt-unsaved -o "$work/pp_ckpt" "$here/pingpong_bw.c" -lpvm3
pvmvm_start --wd "$work"
cd "$work"
load0=$(bench_machine)
echo "# msgbench $( ((quick)) && echo quick || echo full): ${#sizes[@]} sizes, $trials trials ($bw_trials from 64 KiB); $load0" >&2

# run VARIANT ARGS...: one pair of tasks; prints the first task's output
run() {
    local v=$1
    shift
    case $v in
    plain) pvmvm_run 300 ./pp_plain "$@" ;;
    ckpt) pvmvm_run 300 "$CKPT_RUN" -i 0 -d "$work/ckpt.d" ./pp_ckpt "$@" ;;
    ckpt-nolog) CKPT_LOG=off pvmvm_run 300 "$CKPT_RUN" -i 0 -d "$work/ckpt.d" ./pp_ckpt "$@" ;;
    ckpt-i1) pvmvm_run 300 "$CKPT_RUN" -v -i 1 -d "$work/ckpt.d" ./pp_ckpt "$@" ;;
    esac
}

variants=(plain ckpt ckpt-nolog)
: >"$work/raw"
for ((t = 1; t <= (trials > bw_trials ? trials : bw_trials); t++)); do
    echo "# trial $t ($(cut -d' ' -f1 /proc/loadavg))" >&2
    for s in "${sizes[@]}"; do
        ((t <= (s >= 65536 ? bw_trials : trials))) || continue
        # the order of the variants turns with each trial, so that none
        # always runs first (after a fresh pvmd) or right after another
        for ((i = 0; i < ${#variants[@]}; i++)); do
            v=${variants[$(((i + t) % ${#variants[@]}))]}
            line=$(run "$v" sweep "$pp" "$st" "$s" 2>"$work/err") ||
                pvmvm_fail "$v size $s failed: $(cat "$work/err")"
            [[ $line == size* ]] || pvmvm_fail "$v size $s printed: $line $(cat "$work/err")"
            echo "$v $t $line" >>"$work/raw"
            rm -rf "$work/ckpt.d"
        done
    done
done

# medians: key VARIANT:SIZE:FIELD; and overheads paired within a trial,
# key VARIANT:SIZE:lat_ovh / bw_ovh (percent), whose median is reported: the
# three variants of one trial ran back to back, so a slow spell of the shared
# machine moves their ratio much less than their absolute figures
for f in lat_us bw_MBps log_peak; do
    awk -v f="$f" '{ for (i = 3; i < NF; i++) if ($i == f) print $1 ":" $4 ":" f, $(i + 1) }' "$work/raw"
done | bench_median >"$work/med"
awk '{ for (i = 3; i < NF; i++) { if ($i == "lat_us") lat[$1, $2, $4] = $(i + 1)
                                  if ($i == "bw_MBps") bw[$1, $2, $4] = $(i + 1) }
       key[$2, $4] = 1 }
     END { for (k in key) { split(k, a, SUBSEP)
             for (v = 1; v <= 2; v++) { n = v == 1 ? "ckpt" : "ckpt-nolog"
               if ((n, a[1], a[2]) in lat && lat["plain", a[1], a[2]] > 0)
                 print n ":" a[2] ":lat_ovh", (lat[n, a[1], a[2]] / lat["plain", a[1], a[2]] - 1) * 100
               if ((n, a[1], a[2]) in bw && bw[n, a[1], a[2]] > 0) {
                 r = (bw["plain", a[1], a[2]] / bw[n, a[1], a[2]] - 1) * 100
                 print n ":" a[2] ":bw_ovh", r
                 if (a[2] >= 65536) print n ":pooled:bw_ovh", r } } } }' \
    "$work/raw" | bench_median >>"$work/med"
med() { awk -v k="$1:$2:$3" '$1 == k { print $2 }' "$work/med"; }
iqr() { awk -v k="$1:$2:$3" '$1 == k { printf "%+.1f..%+.1f%%", $4, $5 }' "$work/med"; }
pct() { awk -v p="$1" 'BEGIN { printf "%+.1f", p }'; }
human() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MiB", b / 1048576;
                                 else if (b >= 1024) printf "%.1f KiB", b / 1024; else printf "%d B", b }'; }

{
    echo "## msgbench ($( ((quick)) && echo quick || echo full) mode): PVM ping-pong and stream, plain vs ckpt-cc under ckpt-run -i 0"
    echo
    echo "$load0; medians of $trials trials ($bw_trials from 64 KiB, where the bandwidth goal applies);"
    echo "one-way latency in us, bandwidth in MB/s (10^6 B/s)."
    echo "ckpt = wrappers + queue + sender log; nolog = the same with CKPT_LOG=off; log peak = the first"
    echo "task's sender log at its largest in the size's run (nothing is committed under -i 0: only"
    echo "the receiver's acknowledgements drop entries)."
    echo
    echo "| size | lat plain | lat ckpt | ovh | lat nolog | ovh | MB/s plain | MB/s ckpt | ovh | MB/s nolog | ovh | log peak |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${sizes[@]}"; do
        lp=$(med plain "$s" lat_us) lc=$(med ckpt "$s" lat_us) ln=$(med ckpt-nolog "$s" lat_us)
        bp=$(med plain "$s" bw_MBps) bc=$(med ckpt "$s" bw_MBps) bn=$(med ckpt-nolog "$s" bw_MBps)
        lg=$(med ckpt "$s" log_peak)
        # bandwidth overhead: how much longer the same bytes take, (plain/ckpt - 1)
        printf '| %s | %.1f | %.1f | %s%% | %.1f | %s%% | %.1f | %.1f | %s%% | %.1f | %s%% | %s |\n' \
            "$(human "$s")" "$lp" "$lc" "$(pct "$(med ckpt "$s" lat_ovh)")" \
            "$ln" "$(pct "$(med ckpt-nolog "$s" lat_ovh)")" \
            "$bp" "$bc" "$(pct "$(med ckpt "$s" bw_ovh)")" \
            "$bn" "$(pct "$(med ckpt-nolog "$s" bw_ovh)")" "$(human "$lg")"
    done
    echo
    echo "Goals: latency overhead <= 10% up to 1 KiB; bandwidth overhead <= 5% from 64 KiB"
    echo "(bandwidth overhead = plain MB/s / ckpt MB/s - 1, i.e. extra time for the same bytes)."
    echo "Overheads are the medians of the ratios within each trial (the variants of a trial run"
    echo "back to back, in an order that turns from trial to trial), not ratios of the medians."
    echo "Their spread from 64 KiB (lower..upper quartile of the trials' ratios), ckpt / nolog:"
    for s in "${sizes[@]}"; do
        ((s >= 65536)) || continue
        echo "$(human "$s"): $(iqr ckpt "$s" bw_ovh) / $(iqr ckpt-nolog "$s" bw_ovh)"
    done | paste -sd';' | sed 's/;/; /g'
    pooled() { awk -v k="$1:pooled:bw_ovh" '$1 == k { printf "%+.1f%% (quartiles %+.1f..%+.1f%%, %d ratios)", $2, $4, $5, $3 }' "$work/med"; }
    echo "All sizes from 64 KiB pooled, median bandwidth overhead: ckpt $(pooled ckpt), nolog $(pooled ckpt-nolog)."
} >"$work/table1"
cat "$work/table1"

# The long stream: 64 KiB messages for stream_s seconds, -i 1 against -i 0 (and plain).
echo "# long streams (${stream_s} s under -i 1)" >&2
for v in plain ckpt-i1 ckpt; do
    secs=$stream_s
    [[ $v != ckpt-i1 ]] && ((secs > 8)) && secs=8
    run "$v" stream 65536 "$secs" >"$work/stream.$v" 2>"$work/err.$v" ||
        pvmvm_fail "$v stream failed: $(cat "$work/err.$v")"
    rm -rf "$work/ckpt.d"
done
{
    echo
    echo "### 64 KiB messages streamed: sender log with a checkpoint every 1 s (${stream_s} s) and with none (at most 8 s)"
    echo
    echo "| run | s | MiB sent | MB/s | log at end | log peak | checkpoints |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for v in plain ckpt-i1 ckpt; do
        label=$v
        [[ $v == ckpt-i1 ]] && label="ckpt-run -i 1"
        [[ $v == ckpt ]] && label="ckpt-run -i 0"
        awk -v l="$label" '$1 == "t" { t = $2 } $1 == "total" { printf "| %s | %.0f | %s | %s | %s MiB | %s MiB | %s |\n", l, t + 0.5, $3, $5, $7, $9, $11 }' "$work/stream.$v"
    done
    echo
    echo "Sender log over time under -i 1 (sampled every 0.5 s; MiB):"
    echo
    echo '```'
    awk '$1 == "t" { printf "t=%5ss sent %8s  log %7s  peak %7s  ckpts %s\n", $2, $4, $6, $8, $10 }' "$work/stream.ckpt-i1"
    echo '```'
    echo
    echo "ckpt-run -v -i 1 said (each image holds the sender log at its cut):"
    echo
    echo '```'
    grep 'committed\|aborted\|job ended' "$work/err.ckpt-i1" || true
    echo '```'
    echo
    echo "and under -i 0:"
    echo
    echo '```'
    awk '$1 == "t" { printf "t=%5ss sent %8s  log %7s\n", $2, $4, $6 }' "$work/stream.ckpt"
    echo '```'
    echo
    echo "end: $(bench_machine)"
} >"$work/table2"
cat "$work/table2"
# Where a large message's bandwidth goes: 1 MiB and 4 MiB messages streamed
# by plain, by plain holding each sent buffer until the next send (what the
# sender log holds at least at these sizes, the receiver acknowledging each
# message once it has it all: what holding costs with no runtime at all), by
# ckpt without the log and by ckpt, back to back in turning order.
echo "# bandwidth split (1 and 4 MiB streams, $split_trials trials)" >&2
split=(plain plain-hold1 ckpt-nolog ckpt)
split_sizes=(1048576 4194304)
: >"$work/split"
for ((t = 1; t <= split_trials; t++)); do
    for s in "${split_sizes[@]}"; do
        for ((i = 0; i < ${#split[@]}; i++)); do
            v=${split[$(((i + t) % ${#split[@]}))]}
            if [[ $v == plain-hold1 ]]; then
                line=$(run plain stream "$s" "$split_s" 1 2>"$work/err" | tail -n 1)
            else
                line=$(run "$v" stream "$s" "$split_s" 2>"$work/err" | tail -n 1)
            fi
            [[ $line == total* ]] || pvmvm_fail "$v split stream printed: $line $(cat "$work/err")"
            echo "$v:$s $t $line" >>"$work/split"
            rm -rf "$work/ckpt.d"
        done
    done
done
awk '{ split($1, vs, ":"); bw[vs[1], vs[2], $2] = $7; print $1 ":bw", $7; if (vs[1] == "ckpt") print $1 ":peak", $11 }
     END { for (k in bw) { split(k, a, SUBSEP)
             if (a[1] != "plain" && bw[a[1], a[2], a[3]] > 0)
               print a[1] ":" a[2] ":ovh", (bw["plain", a[2], a[3]] / bw[a[1], a[2], a[3]] - 1) * 100 } }' \
    "$work/split" | bench_median >"$work/split.med"
{
    echo
    echo "### Where a large message's bandwidth goes (1 and 4 MiB messages streamed ${split_s} s, $split_trials trials)"
    echo
    echo "| run | MB/s 1 MiB | overhead | MB/s 4 MiB | overhead |"
    echo "|---|---:|---:|---:|---:|"
    for v in "${split[@]}"; do
        printf '| %s' "$v"
        for s in "${split_sizes[@]}"; do
            bw=$(awk -v k="$v:$s:bw" '$1 == k { print $2 }' "$work/split.med")
            ov=$(awk -v k="$v:$s:ovh" '$1 == k { printf "%+.1f%%", $2 }' "$work/split.med")
            printf ' | %.1f | %s' "$bw" "${ov:--}"
        done
        echo ' |'
    done
    echo
    echo "plain-hold1: the plain program frees each send buffer one send later rather than at"
    echo "once; its overhead is what holding sent data costs by itself (the log holds at least"
    echo "that much: a message is acknowledged only once the receiver has it all).  Sender log"
    echo "peak of ckpt: $(awk '$1 ~ /^ckpt:.*:peak$/ { split($1, k, ":"); printf "%s%.0f MiB at %d MiB", sep, $2, k[2] / 1048576; sep = ", " }' "$work/split.med")."
} >"$work/table3"
cat "$work/table3"
[[ -n $out ]] && cat "$work/table1" "$work/table2" "$work/table3" >"$out"
exit 0
