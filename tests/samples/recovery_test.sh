#!/usr/bin/env bash
# recovery_test.sh: a sample built with `make CC=ckpt-cc`, run under ckpt-run with
# checkpoints every second, loses a task to `kill -9` mid-run; what the job
# prints must be byte for byte what the plain build prints (DESIGN invariant 1).
#
#   recovery_test.sh SAMPLE --ckpt-cc PATH --ckpt-run PATH [--kills K]
#
# The task killed is a non-root one (the last the pvmd lists running the
# sample's program), found with the console's `ps -al`, as samples/demo.sh does.
# With --kills K (default 1) it kills K times, about a second apart.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"

sample=${1:?usage: recovery_test.sh SAMPLE --ckpt-cc PATH --ckpt-run PATH [--kills K]}
shift
ckpt_cc= ckpt_run= kills=1
while (($#)); do
    case $1 in
    --ckpt-cc) ckpt_cc=$(realpath "$2"); shift 2 ;;
    --ckpt-run) ckpt_run=$(realpath "$2"); shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    *) echo "recovery_test.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -x $ckpt_cc && -x $ckpt_run ]] || { echo "need --ckpt-cc and --ckpt-run" >&2; exit 2; }

# What to run: sized to take a few seconds, so that checkpoints happen first.
# SPMD samples run as -n copies under ckpt-run, and as root-spawns-copies plainly
# (the two print the same, which tests/samples/sample_test.sh checks).
case $sample in
ring) prog=ring; args=(6000 4 100000); spmd=4; victim_re='ring$' ;;
jacobi) prog=jacobi; args=(512 8000 4 500); spmd=4; victim_re='jacobi$' ;;
master_worker) prog=master; args=(2 60 200000); spmd=; victim_re='worker$' ;;
*) echo "no recovery case for $sample" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/recovery-$sample.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
trap 'rm -rf "$work"' EXIT

for b in plain ckpt; do
    cp -r "$top/samples/$sample" "$work/$b"
    make -s -C "$work/$b" clean >/dev/null
    cc=cc
    [[ $b == ckpt ]] && cc=$ckpt_cc
    make -C "$work/$b" CC="$cc" >"$work/$b.build.log" 2>&1 ||
        { cat "$work/$b.build.log" >&2; echo "FAIL: make CC=$cc" >&2; exit 1; }
done

# the reference
pvmvm_start --ep "$work/plain" --wd "$work"
start=$SECONDS
(cd "$work" && pvmvm_run 300 "./plain/$prog" "${args[@]}") >"$work/plain.out"
echo "plain run: $((SECONDS - start)) s, $(wc -l <"$work/plain.out") lines"
pvmvm_stop

# the checkpointed run, with failures
pvmvm_start --ep "$work/ckpt" --wd "$work"
runargs=(--interval 1 --dir "$work/ckpt.$prog")
[[ -n $spmd ]] && runargs=(-n "$spmd" "${runargs[@]}")
(cd "$work" && exec "$ckpt_run" "${runargs[@]}" "./ckpt/$prog" "${args[@]}") \
    >"$work/ckpt.out" 2>"$work/ckpt.err" &
run=$!
start=$SECONDS
pvmvm_at_exit "kill $run 2>/dev/null || true"
killed=0
for ((k = 0; k < kills; k++)); do
    sleep 1.5
    victim=$(pvmvm_tasks | awk -v re="$victim_re" '$3 ~ re { pid = $2 } END { print pid }')
    if [[ -z $victim ]] || ! kill -0 "$run" 2>/dev/null; then
        echo "nothing to kill after $((k + 1)) x 1.5 s (job done?)"
        break
    fi
    echo "kill -9 $victim ($(pvmvm_tasks | awk -v p="$victim" '$2 == p { print "tid", $1, $3 }'))"
    kill -9 "$victim"
    killed=$((killed + 1))
done
rc=0
timeout 300 tail --pid="$run" -f /dev/null || true
kill -0 "$run" 2>/dev/null && pvmvm_fail "ckpt-run still running after 300 s"
wait "$run" || rc=$?
echo "ckpt-run: $((SECONDS - start)) s, status $rc, $(wc -l <"$work/ckpt.out") lines"
if ((rc != 0)); then
    sed 's/^/    ckpt-run: /' "$work/ckpt.err" | tail -n 30 >&2
    pvmvm_fail "ckpt-run exited with status $rc after $killed kill(s)"
fi
if ! cmp -s "$work/plain.out" "$work/ckpt.out"; then
    diff "$work/plain.out" "$work/ckpt.out" | head -n 30 >&2 || true
    pvmvm_fail "after $killed kill(s) the job printed something else than the plain run"
fi
((killed > 0 || kills == 0)) || pvmvm_fail "no task was killed: make the run longer"
echo "PASS samples/$sample: $killed task(s) killed, output identical to the plain run"
