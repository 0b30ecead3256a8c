#!/usr/bin/env bash
# hostlocal.sh: a checkpoint folder local to each host (ckpt-run
# --host-local).  Three namespace hosts (tests/lib/nshosts.sh), each with a
# folder of its own at one path (NSHOSTS_LOCAL: hosts 1 and 2 see
# local.h1 and local.h2 there, host 0, where ckpt-run runs, the folder
# itself);
# `ckpt-run -n 4 --host-local` runs jacobi over them.
#
#   copies    no failure: every image of the newest checkpoint is on the
#             disk of ckpt-run's host (host 0), and those written on hosts
#             1 and 2 on theirs too; the output is the plain run's
#   lost      after checkpoint 2 is committed, host 2 is powered off and its
#             disk wiped: its tasks restart from their partner copies, the
#             job resumes from the last commit and prints the plain output
#
#   hostlocal.sh [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/nshosts.sh
. "$top/tests/lib/nshosts.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

nshosts_need_root
jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(copies lost)
ARGS=(300 20000)

jobtest_build hostlocal "$top/samples/jacobi/jacobi.c" 2 plain jacobi
cd "$work"
fail() { echo "# $name: $*"; ok=0; }

# Each task image of the newest epoch committed in local/ (ckpt-run's
# folder), as "NAME FOLDER" lines, for every host's folder that has it.
where_images() {
    local e f
    e=$(ls -d local/epoch.* 2>/dev/null | sed 's/.*epoch\.//' | sort -n | while read -r k; do
        [[ -e local/epoch.$k/commit ]] && echo "$k"; done | tail -n 1)
    [[ -n $e ]] || return 0
    for f in local local.h1 local.h2; do
        for img in "$f/epoch.$e"/task.*.img; do
            [[ -e $img ]] && echo "${img##*/} $f"
        done
    done
}

one() {
    name=$1 ok=1
    local rc=0 counts
    rm -rf local local.h1 local.h2
    NSHOSTS_LOCAL=$work/local nshosts_start 3 --ep "$work" --wd "$work"
    [[ -s expected ]] || pvmvm_run 120 "$work/plain" "${ARGS[@]}" 4 >expected 2>plain.err ||
        pvmvm_fail "plain run failed: $(cat plain.err)"
    pvmvm_wait_idle 10 || true
    jobtest_hold "$work/hold"
    nshosts_exec 0 "$ckpt_run" -vv --host-local -i 0.3 -d "$work/local" -n 4 "$work/jacobi" "${ARGS[@]}" >"$name.out" 2>"$name.err" &
    pid=$!
    jobtest_wait_for "$name.err" "checkpoint 2 committed" $pid 1 60 || fail "no checkpoint 2"
    if [[ $name == lost ]]; then
        nshosts_kill_all 2
        rm -rf local.h2         # its disk with it
        jobtest_wait_for "$name.err" "host $(nshosts_addr 2) .* left the virtual machine" $pid 1 60 ||
            fail "ckpt-run never said that host 2 left"
    fi
    jobtest_release
    wait $pid || rc=$?
    ((rc == 0)) || fail "ckpt-run exited $rc"
    cmp -s expected "$name.out" || { fail "output differs from the plain run"; diff expected "$name.out" | head -n 5 || true; }
    if [[ $name == copies ]]; then
        where_images >where
        [[ $(grep -c ' local$' where) == 4 ]] || fail "not all 4 task images on host 0: $(cat where)"
        [[ $(grep -c ' local\.h' where) -ge 2 && $(cut -d' ' -f1 where | sort | uniq -d | wc -l) == $(grep -c ' local\.h' where) ]] ||
            fail "hosts 1 and 2 do not hold their tasks' images: $(cat where)"
        [[ $(cut -d' ' -f2 where | sort -u | wc -l) == 3 ]] || fail "not every host holds images: $(cat where)"
        grep -q "job ended after .* 0 recoveries" "$name.err" || fail "a recovery without a failure"
    else
        ! grep "left the virtual machine" "$name.err" | grep -v "host $(nshosts_addr 2) " ||
            fail "a live host was taken for a lost one"
        jobtest_resumed "$name.err" || fail "did not resume from the last committed checkpoint"
        grep -q "job ended after .* 1 recover" "$name.err" || fail "not exactly one recovery"
    fi
    jobtest_report "$name" $ok "$name.err"
    nshosts_stop
}

for s in "${scenarios[@]}"; do
    case $s in
    copies | lost) one "$s" ;;
    *) echo "hostlocal.sh: no scenario $s" >&2; exit 2 ;;
    esac
done
echo "# hostlocal: $passed passed, $failed failed"
((failed == 0))
