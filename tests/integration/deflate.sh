#!/usr/bin/env bash
# deflate.sh: whether images are deflated (ckpt-run -z, CKPT_COMPRESS=auto by
# default, runtime/compress.c) changes what is on disk, never what a recovery
# gives back.  One scenario per run of the mostlystatic program with full
# images (CKPT_CHAIN=1), the folder's rate given with CKPT_DISK_MBS so that the
# choice does not depend on this machine's disk; a task is killed after
# checkpoint 3 and the job must recover from it with exactly the plain run's
# output:
#
#   fast-disk   a disk of 1 TB/s: the first image of each task is deflated
#               (nothing measured yet), the later ones stored raw but for the
#               chunks deflated to go on measuring (ratio under 1.2)
#   slow-disk   a disk of 1 MB/s: every image deflated (ratio 1.5 or more)
#   level-0     -z 0: every image stored raw, the first one included
#
#   deflate.sh [--ckpt-cc PATH] [--ckpt-run PATH] [--ckpt-ctl PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(fast-disk slow-disk level-0)
ckpt_info=$(dirname "$ckpt_run")/ckpt-info

jobtest_build deflate "$here/progs/mostlystatic.c" 2 plain mostlystatic
export CKPT_CHAIN=1
pvmvm_start --wd "$work"
cd "$work"
# (long enough that checkpoint 3 comes while the workers compute)
JOBTEST_PROG=("$work/mostlystatic" 2 20000 8)
pvmvm_run 60 "$work/plain" "${JOBTEST_PROG[@]:1}" >expected 2>/dev/null || pvmvm_fail "plain run failed"
pvmvm_wait_idle 10 || true

# raw/stored of the largest image of epoch E in folder D (ckpt-info's table)
ratio_of() {
    "$ckpt_info" "$1" | awk -v e="$2" '
        /^epoch / { in_e = $2 == e; next }
        in_e && $1 ~ /^0x/ && $3 + 0 > raw { raw = $3 + 0; r = $5 }
        END { print r }'
}

for s in "${scenarios[@]}"; do
    case $s in
    fast-disk) rate=1000000000 opt=() first=deflated later=raw ;;
    slow-disk) rate=1 opt=() first=deflated later=deflated ;;
    level-0) rate= opt=(-z 0) first=raw later=raw ;;
    *) echo "deflate.sh: unknown scenario $s" >&2; exit 2 ;;
    esac
    CKPT_DISK_MBS=$rate jobtest_start $s -i 0.3 -k 1000 "${opt[@]}"
    jobtest_wait_for $s.err "checkpoint 3 committed" $pid || echo "# $s: no checkpoint 3"
    jobtest_kill_one "$work/" || echo "# $s: no task to kill"
    jobtest_finish $s "recovered from checkpoint"
    ok=1
    for e in 1 2 3; do
        want=$later
        ((e > 1)) || want=$first
        r=$(ratio_of "$work/ckpt.$s" $e)
        echo "# $s: epoch $e, largest image: raw/stored ${r:-?} ($want expected)"
        if [[ $want == raw ]]; then
            awk -v r="${r:-0}" 'BEGIN { exit !(r >= 1 && r < 1.2) }' || ok=0
        else
            awk -v r="${r:-0}" 'BEGIN { exit !(r >= 1.5) }' || ok=0
        fi
    done
    jobtest_resumed $s.err || ok=0
    ((ok)) && jobtest_check $s $s.out $s.err "recovered from checkpoint" || jobtest_report $s 0 $s.err
done
echo "# deflate: $passed passed, $failed failed"
((failed == 0))
