#!/usr/bin/env bash
# chains.sh: failures around incremental checkpoints, one scenario per run of
# the mostlystatic program (its workers' large heaps change a little between
# checkpoints, so their images refer to earlier ones) under ckpt-run, each
# ending with exactly the plain run's output:
#
#   writer-kill     the writer of an incremental checkpoint dies: that checkpoint
#                   is aborted, the next one is a full image again (its parent
#                   would be the aborted one), later ones incremental on it
#   corrupt-parent  the image an incremental checkpoint refers to is damaged
#                   (cut short) and a task is killed: that checkpoint and the
#                   damaged one are refused, naming the broken image, and the job
#                   recovers from one that does not need it (the older one they
#                   build on; or a newer one written in the meantime, if that
#                   task's image in it is a full one)
#   coord-after     ckpt-run dies right after committing an incremental
#                   checkpoint; ckpt-run --restart DIR finishes the job from it,
#                   loading each image through its chain
#   earlier         in a worker's incremental image (on one written after it
#                   filled its memory), the 1 MiB chunks of the heap block the
#                   program never writes again (3 at least), and of its large
#                   global and large local that did not change, are read from
#                   the earlier image
#   restart-epoch   ckpt-run --restart DIR --epoch K finishes a stopped job from
#                   an older kept checkpoint, incremental, and ckpt-info --verify
#                   checks every chain of the folder whole
#
#   chains.sh [--ckpt-cc PATH] [--ckpt-run PATH] [--ckpt-ctl PATH] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../lib/jobtest.sh
. "$top/tests/lib/jobtest.sh"

jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(writer-kill corrupt-parent coord-after earlier restart-epoch)
ckpt_info=$(dirname "$ckpt_run")/ckpt-info

jobtest_build chains "$here/progs/mostlystatic.c" 2 plain mostlystatic
pvmvm_start --wd "$work"
cd "$work"
JOBTEST_PROG=("$work/mostlystatic" 2 8000 8)
pvmvm_run 60 "$work/plain" "${JOBTEST_PROG[@]:1}" >expected 2>/dev/null || pvmvm_fail "plain run failed"
pvmvm_wait_idle 10 || true

# The epoch of the first commit line of ERR matching REGEX.
epoch_of() { sed -n "s/^ckpt-run: checkpoint \([0-9]*\) committed: .*$2.*/\1/p" "$1" | head -n 1; }

for s in "${scenarios[@]}"; do
    case $s in
    writer-kill)
        # 1 full, 2 incremental on 1, 3 killed, 4 full (3 was never written), 5 on 4
        CKPT_FAULT=writer-kill:3 jobtest_start $s -i 0.3
        jobtest_finish $s "checkpoint 5 committed"
        ok=1
        grep -q "checkpoint 2 committed: .*incremental" $s.err || { ok=0; echo "# $s: checkpoint 2 not incremental"; }
        grep -q "checkpoint 4 committed: .*incremental" $s.err && { ok=0; echo "# $s: checkpoint 4 incremental on an aborted one"; }
        ((ok)) && jobtest_check $s $s.out $s.err "checkpoint 3 aborted" "checkpoint 5 committed: .*incremental" ||
            jobtest_report $s 0 $s.err ;;
    corrupt-parent)
        # a checkpoint E whose chains are 3 images long: E -> P -> R; P cut short
        jobtest_start $s -i 0.3 -k 8
        jobtest_wait_for $s.err "chains of up to 3 images" $pid || echo "# $s: no chain of 3"
        e=$(epoch_of $s.err "chains of up to 3 images")
        read -r vtid p < <("$ckpt_info" --json "$work/ckpt.$s" | awk -v e="$e" '
            /"epoch": / { ep = $0; sub(/.*"epoch": /, "", ep); sub(/,.*/, "", ep) }
            ep == e && /"depth": 2/ { v = $0; sub(/.*"vtid": /, "", v); sub(/,.*/, "", v)
                                      q = $0; sub(/.*"parent_epoch": /, "", q); sub(/[,}].*/, "", q)
                                      printf "%08x %s\n", v, q; exit }')
        img=$work/ckpt.$s/epoch.$p/task.$vtid.img
        echo "# checkpoint $e: task $vtid builds on $p: cutting $img short"
        # ckpt-run stopped meanwhile: no commit comes between the damage and the kill
        kill -STOP $pid
        truncate -s -1 "$img"
        jobtest_kill_one "$work/" || echo "# $s: no task to kill"
        kill -CONT $pid
        jobtest_finish $s "recovered from checkpoint"
        k=$(sed -n 's/.*recovered from checkpoint \([0-9]*\).*/\1/p' $s.err | head -n 1)
        ok=1
        ((${k:-$p} != p && ${k:-$e} != e)) || { ok=0; echo "# $s: recovered from ${k:-nothing}"; }
        # (a newer checkpoint committed meanwhile, the task's image in it full, is good too)
        ((ok && k < e)) && jobtest_check $s $s.out $s.err "checkpoint $e refused: epoch.$p/task.$vtid.img: truncated"
        ((ok && k > e)) && jobtest_check $s $s.out $s.err
        ((ok)) || jobtest_report $s 0 $s.err ;;
    coord-after)
        # checkpoint 2 refers to 1 for what did not change
        CKPT_FAULT=coord-die-after-commit:2 jobtest_start $s -i 0.3
        jobtest_finish $s ""
        pvmvm_wait_idle 10 || true
        # (ckpt-run died before saying so: the folder tells)
        info=$("$ckpt_info" "$work/ckpt.$s") || true
        ok=1
        [[ $info == *"on epoch 1 (depth 1)"* ]] || { ok=0; echo "# $s: checkpoint 2 is not incremental"; }
        pvmvm_run 120 "$ckpt_run" -v --restart "$work/ckpt.$s" >>$s.out 2>>$s.err || echo "# $s: --restart exited $?"
        ((ok)) && jobtest_check $s $s.out $s.err "restarted the job from checkpoint 2" || jobtest_report $s 0 $s.err ;;
    earlier)
        # a job long enough to be running still; stopped once looked at
        JOBTEST_PROG[2]=100000
        jobtest_start $s -i 0.3
        JOBTEST_PROG[2]=8000
        # an image whose parent was written after the workers filled their
        # memory (the master prints round 0 once they have): commits after c0
        jobtest_wait_for $s.out "^round 50 " $pid || echo "# $s: no round 50"
        c0=$(sed -n 's/^ckpt-run: checkpoint \([0-9]*\) committed.*/\1/p' $s.err | tail -n 1)
        img= n=$(jobtest_commits $s.err)
        for ((i = 1; i <= 12; i++)); do
            [[ -z $img ]] || break
            jobtest_wait_for $s.err "^ckpt-run: checkpoint [0-9]* committed" $pid $((n + i)) || break
            e=$(sed -n 's/^ckpt-run: checkpoint \([0-9]*\) committed: .*incremental.*/\1/p' $s.err | tail -n 1)
            ((${e:-0} > ${c0:-0} + 1)) || continue
            # the worker with the largest image, if its parent is after c0
            cand=$(ls -S "$work/ckpt.$s/epoch.$e"/task.*.img | head -n 1)
            p=$("$ckpt_info" "$cand" | sed -n 's/^  chain    incremental on epoch \([0-9]*\):.*/\1/p')
            ((${p:-0} > ${c0:-0})) && img=$cand
        done
        ok=1
        [[ $img ]] || { ok=0; echo "# $s: no incremental image on a parent after the fill"; }
        # ckpt-info lists sections as "# type name elem raw stored ratio earlier"
        [[ $img ]] && { "$ckpt_info" "$img" >$s.sections || { ok=0; echo "# $s: ckpt-info $img failed"; }; }
        [[ $img ]] && { awk '$2 == "heap" && $3 == "blocks" { heap += $8 }
             $2 == "global" && $3 ~ /:glob$/ { glob = $8 }
             $2 == "var" && $3 == "loc" { loc = $8 }
             END { printf "# from earlier: heap %d, glob %d, loc %d\n", heap, glob, loc
                   exit !(heap >= 3 * 1048576 && glob > 0 && loc > 0) }' $s.sections ||
            { ok=0; echo "# $s: too little read from the earlier image of $img"; cat $s.sections; }; }
        # (the output is not this scenario's point: the job stops here)
        "$ckpt_ctl" stop "$work/ckpt.$s" >/dev/null || echo "# $s: ckpt-ctl stop failed"
        jobtest_finish $s ""
        jobtest_report $s $ok $s.err ;;
    restart-epoch)
        jobtest_start $s -i 0.3 -k 3
        jobtest_wait_for $s.err "chains of up to 3 images" $pid || echo "# $s: no chain of 3"
        "$ckpt_ctl" stop "$work/ckpt.$s" >/dev/null || echo "# $s: ckpt-ctl stop failed"
        jobtest_finish $s ""
        pvmvm_wait_idle 10 || true
        ok=1
        "$ckpt_info" --verify "$work/ckpt.$s" >$s.verify || { ok=0; echo "# $s: ckpt-info --verify found problems"; cat $s.verify; }
        # the oldest kept epoch whose images are incremental
        k=$("$ckpt_info" "$work/ckpt.$s" | awk '/^epoch / { e = $2 } /on epoch/ { k = e } END { print k }')
        [[ -n $k ]] || { ok=0; echo "# $s: no incremental epoch kept"; }
        pvmvm_run 120 "$ckpt_run" -v --restart "$work/ckpt.$s" --epoch "$k" >>$s.out 2>>$s.err ||
            echo "# $s: --restart exited $?"
        ((ok)) && jobtest_check $s $s.out $s.err "restarted the job from checkpoint $k" || jobtest_report $s 0 $s.err ;;
    *)
        echo "chains.sh: unknown scenario $s" >&2
        exit 2 ;;
    esac
done
echo "# chains: $passed passed, $failed failed"
((failed == 0))
