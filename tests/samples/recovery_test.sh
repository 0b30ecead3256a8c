#!/usr/bin/env bash
# recovery_test.sh: a sample built with `make CC=ckpt-cc`, run under ckpt-run with
# checkpoints every second, loses a task to `kill -9` after a commit; what the job
# prints must be byte for byte what the plain build prints (DESIGN invariant 1),
# and the recovery must resume from that commit.  It is the kill suite's
# harness (tests/integration/zdtm.sh: kills on job events, never after a sleep)
# at the sizes the samples' headers give for a test.
#
#   recovery_test.sh SAMPLE --ckpt-cc PATH --ckpt-run PATH [--kills K]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

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

# SPMD samples run as -n copies under ckpt-run, and as root-spawns-copies plainly
# (the two print the same, which tests/samples/sample_test.sh checks).
case $sample in
ring) exe=ring; args=(6000 4 100000); spmd=(--spmd 4 --plain-args "${args[*]}") ;;
jacobi) exe=jacobi; args=(512 8000 4 500); spmd=(--spmd 4 --plain-args "${args[*]}") ;;
master_worker) exe=master; args=(2 60 200000); spmd=() ;;
*) echo "no recovery case for $sample" >&2; exit 2 ;;
esac

exec bash "$top/tests/integration/zdtm.sh" "$top/samples/$sample" --exe "$exe" --runs 1 \
    --kills "$kills" --interval 1 "${spmd[@]}" --ckpt-cc "$ckpt_cc" --ckpt-run "$ckpt_run" -- "${args[@]}"
