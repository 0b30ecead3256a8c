#!/usr/bin/env bash
# recoverybench.sh: how long ckpt-run takes to bring the Jacobi sample back
# after a task dies, against the time it takes merely to read the images it
# restarts from.  Under one private pvmd (tests/lib/pvmvm.sh):
#
#   1. the plain build runs once (the expected output);
#   2. RUNS times: the ckpt-cc build runs under `ckpt-run -v -i INTERVAL -k 100`
#      (-k 100: every committed epoch stays on disk, so the one recovered from
#      can be read afterwards); once AFTER checkpoints have committed (+ 1 s) one
#      spawned task is killed with SIGKILL (its pid from the pvmd task list);
#      ckpt-run recovers and the job runs to its end.  Reported: ckpt-run's
#      "recovered from checkpoint K in X s", the images of epoch K read with the
#      runtime's own reader (bench/imgread.c: ckpt_img_load of every image, one
#      after the other and all at once in parallel processes, as restarted tasks
#      do), `ckpt-info DIR/epoch.K` (loads and verifies every image), and
#      whether the output equals the plain run's.
#
#   bench/recoverybench.sh [--quick] [-o FILE] [--build DIR] [--runs N]
#                          [--n N] [--iters I] [--interval S] [--after AFTER]
#
#   full (default): jacobi 2896 (32 MiB of state per task), 4 tasks, K = 100,
#                   ITERS calibrated for a ~30 s plain run, -i 5, kill after
#                   the 3rd commit (a grid well into the run: images that
#                   compress less than the first, mostly-zero one), 3 runs;
#                   about 4 minutes.
#   --quick:        jacobi 1024 (4 MiB per task), ITERS for ~6 s, -i 2, kill
#                   after the 1st commit, 1 run; under a minute.
#
# Images are read right after the job, from the page cache, as a restart
# shortly after the checkpoint reads them too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib/pvmvm.sh"
. "$here/lib.sh"

quick=0 out= build=$top/build-bench runs= n= iters= interval= k=100 ntasks=4 target= after=
while (($#)); do
    case $1 in
    --quick) quick=1; shift ;;
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "recoverybench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if ((quick)); then
    n=${n:-1024} target=6 interval=${interval:-2} runs=${runs:-1} after=${after:-1}
else
    n=${n:-2896} target=30 interval=${interval:-5} runs=${runs:-3} after=${after:-3}
fi
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/recoverybench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
mkdir -p "$work/plain" "$work/ckpt"
cc -O2 -g -Wall -Wno-unknown-pragmas -o "$work/plain/jacobi" "$top/samples/jacobi/jacobi.c" -lpvm3
"$CKPT_CC" -O2 -g -Wall -Wno-unknown-pragmas -o "$work/ckpt/jacobi" "$top/samples/jacobi/jacobi.c" -lpvm3
cc -O2 -Wall -I"$top/format" -o "$work/imgread" "$here/imgread.c" "$LIBCKPT" -lz
pvmvm_start --ep "$work/plain" --wd "$work"
cd "$work"
now() { bench_now; }
secs() { bench_secs "$@"; }
[[ -n $iters ]] || iters=$(bench_jacobi_iters "$n" "$ntasks" "$k" "$target")
load0=$(bench_machine)
echo "# recoverybench $( ((quick)) && echo quick || echo full): jacobi $n $iters $ntasks $k, -i $interval, $runs run(s); $load0" >&2

t0=$(now)
pvmvm_run 1200 ./plain/jacobi "$n" "$iters" "$ntasks" "$k" >expected 2>plain.err ||
    pvmvm_fail "plain run failed: $(cat plain.err)"
wall_plain=$(secs "$t0" "$(now)")
pvmvm_wait_idle 20 || true

: >rows
for ((r = 1; r <= runs; r++)); do
    dir=$work/ckpt.$r
    echo "# run $r ($(cut -d' ' -f1 /proc/loadavg))" >&2
    t0=$(now)
    timeout -k 5 1200 "$CKPT_RUN" -v -i "$interval" -k 100 -d "$dir" ./ckpt/jacobi "$n" "$iters" "$ntasks" "$k" \
        >"out.$r" 2>"err.$r" &
    pid=$!
    # wait for the AFTER-th commit, then one more second of work
    deadline=$((SECONDS + 600))
    while :; do
        ncommit=$(grep -c 'checkpoint [0-9]* committed' "err.$r" 2>/dev/null || true)
        ((${ncommit:-0} >= after)) && break
        kill -0 "$pid" 2>/dev/null || pvmvm_fail "run $r ended before a checkpoint committed: $(tail -5 "err.$r")"
        ((SECONDS < deadline)) || pvmvm_fail "run $r: no checkpoint committed within 600 s"
        sleep 0.1
    done
    sleep 1
    # a spawned copy (the root is ckpt-run's own child and shows no name), in turn
    mapfile -t victims < <(pvmvm_tasks | awk '$3 ~ /jacobi$/ { print $2 }')
    ((${#victims[@]})) || pvmvm_fail "run $r: no spawned task to kill: $(pvmvm_tasks)"
    victim=${victims[$(( (r - 1) % ${#victims[@]} ))]}
    kill -9 "$victim"
    killed_at=$(secs "$t0" "$(now)")
    rc=0
    wait "$pid" || rc=$?
    wall=$(secs "$t0" "$(now)")
    pvmvm_wait_idle 20 || true
    line=$(grep 'recovered from checkpoint' "err.$r" | head -1 || true)
    [[ -n $line ]] || pvmvm_fail "run $r: no recovery reported: $(tail -5 "err.$r")"
    kk=$(sed -n 's/.*recovered from checkpoint \([0-9]*\) in \([0-9.]*\) s.*/\1/p' <<<"$line")
    rsec=$(sed -n 's/.*recovered from checkpoint \([0-9]*\) in \([0-9.]*\) s.*/\2/p' <<<"$line")
    edir=$dir/epoch.$kk
    imgs=("$edir"/*.img)
    "$work/imgread" "${imgs[@]}" >"seq.$r"
    "$work/imgread" -p "${imgs[@]}" >"par.$r"
    t1=$(now)
    "$CKPT_INFO" "$edir" >"info.$r" 2>&1 || echo "# ckpt-info $edir: exit $?" >&2
    info_s=$(secs "$t1" "$(now)")
    seq_s=$(awk '$1 == "total" { printf "%.2f", $9 / 1000 }' "seq.$r")
    par_s=$(awk '$1 == "total" { printf "%.2f", $9 / 1000 }' "par.$r")
    rawm=$(awk '$1 == "total" { printf "%.1f", $5 / 1048576 }' "seq.$r")
    stm=$(awk '$1 == "total" { printf "%.1f", $7 / 1048576 }' "seq.$r")
    if ((rc == 0)) && cmp -s expected "out.$r"; then same=identical; else same="DIFFERS (exit $rc)"; fi
    printf '| %d | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s |\n' "$r" "$killed_at" "$kk" "$rsec" \
        "$(awk -v s="$rsec" -v p="$par_s" 'BEGIN { if (p > 0) printf "%.1fx", s / p; else print "-" }')" \
        "$rawm" "$stm" "$seq_s" "$par_s" "$info_s" "$wall" "$same" >>rows
done

{
    echo "## recoverybench ($( ((quick)) && echo quick || echo full) mode): jacobi $n $iters $ntasks $k under ckpt-run -v -i $interval, one spawned task killed 1 s after checkpoint $after committed"
    echo
    echo "$load0 (at start). Plain run: $wall_plain s."
    echo
    echo "| run | killed at s | epoch | recovered in s (ckpt-run) | recovery / parallel read | images raw / on disk MiB | read seq s | read parallel s | ckpt-info epoch s | job wall s | output vs plain |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    cat rows
    echo
    echo "read seq / parallel: bench/imgread.c loading every image of the epoch with ckpt_img_load (decompress +"
    echo "verify), one after the other / one process per image at once; ckpt-info DIR/epoch.K loads and verifies them too."
    echo "ckpt-run's recovery includes killing the survivors, a fixed 0.2 s drain of their messages (tools/recovery.c"
    echo "recovery_rollback()), restarting every task, each reading its image and rebuilding its frames, and the replay of logs."
    echo
    echo "ckpt-run -v said (run $runs):"
    echo
    echo '```'
    sed -n '/committed\|aborted\|recover\|failed\|job ended/p' "err.$runs" | head -n 30
    echo '```'
    echo
    echo "end: $(bench_machine)"
} >table
cat table
[[ -n $out ]] && cp table "$out"
exit 0
