#!/usr/bin/env bash
# hostfile.sh: ckpt-run --hostfile starts the virtual machine itself, on the
# hosts of a PVM host file, and keeps its spare for a lost host's tasks.
# Hosts are network namespaces of this computer (tests/lib/nshosts.sh,
# nshosts_make: no pvmd until ckpt-run starts one, as the master, on host
# 0); the host file names host 0, 1 and 2, and host 3 as a spare ('&').
#
#   bad       host files with a mistake: exit status 2, FILE:LINE and what
#   nostart   hosts that cannot start (a dx= that is not there, an address no
#             host has, a spare of neither): each named, and a short job runs
#             on the master alone
#   spare:KIND  `ckpt-run --hostfile -n 4` runs jacobi: ckpt-info shows its
#             tasks on hosts 0-2 and none on the spare; a second ckpt-run
#             --hostfile on the running machine is refused (status 2); after
#             checkpoint 2 host 1 is lost, the KIND way:
#               term  its pvmd ends (SIGTERM): PVM reports the loss at once,
#                     and the spare takes host 1's tasks (ckpt-run says so,
#                     ckpt-info shows them there after the recovery)
#               cut   its link down: noticed by the heartbeat; until PVM's
#                     own time-out for host 1 has run (minutes) the master's
#                     traffic with every remote host crawls, so host 1's tasks
#                     restart on host 0, ckpt-run's, and the spare stays empty
#               off   everything on it killed (by name only): as cut
#             and the job resumes from the last committed checkpoint, once,
#             and prints exactly what the plain run prints
#
#   hostfile.sh [--ckpt-info PATH] [--ckpt-cc PATH] [--ckpt-run PATH] [SCENARIO...]
#   (default: bad nostart spare:term spare:cut)
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
ckpt_info=$top/build/tools/ckpt-info
if [[ ${1:-} == --ckpt-info ]]; then ckpt_info=$2; shift 2; fi
jobtest_options "$@"
scenarios=("${JOBTEST_ARGS[@]}")
((${#scenarios[@]})) || scenarios=(bad nostart spare:term spare:cut)
ARGS=(300 10000)        # about 2.5 s on two cores, 4 tasks; held at their end (jobtest_hold) until the checks are done
NOTICE_S=30

jobtest_build hostfile "$top/samples/jacobi/jacobi.c" 2 plain jacobi
cd "$work"
fail() { echo "# $name: $*"; ok=0; }

# bad_file NAME WANT LINE...: a host file of LINEs, refused with WANT
bad_file() {
    local file=bad.$1 want=$2 rc=0
    shift 2
    printf '%s\n' "$@" >"$file"
    "$ckpt_run" --hostfile "$file" -d "$work/ckpt.bad" -n 2 "$work/jacobi" 10 10 >bad.out 2>bad.err || rc=$?
    ((rc == 2)) || fail "$file: exit status $rc, not 2"
    grep -qF -- "ckpt-run: $file:$want" bad.err || { fail "$file: no '$file:$want' in: $(cat bad.err)"; }
}

bad() {
    name=bad ok=1
    bad_file option "2: unknown option \"xx=1\"" "# a comment" "localhost xx=1"
    bad_file host "3: host no-such-host.invalid: no such host" "localhost" "" "no-such-host.invalid"
    bad_file twice "2: host localhost is named twice (first on line 1)" "localhost" " localhost  wd=/"
    bad_file star "1: '&' and '$' mark hosts" "&* wd=/" "localhost"
    bad_file password "1: so=pw: ckpt-run starts the pvmd without a terminal" "localhost so=pw"
    bad_file speed "1: sp=fast: the speed is" "localhost sp=fast"
    bad_file master "1: host 127.0.0.1 is this computer" "& 127.0.0.1"
    [[ ! -e ckpt.bad ]] || fail "a refused host file left a checkpoint folder"
    jobtest_report bad $ok bad.err
}

nostart() {
    local rc=0 line
    name=nostart ok=1
    nshosts_make 2
    printf '%s\n' "* wd=$work" "$(nshosts_addr 0)" "$(nshosts_addr 1) dx=/no/such/pvmd" "$NSHOSTS_NET.77" \
        "& $NSHOSTS_NET.78" >hosts
    unset CKPT_HOLD
    nshosts_exec 0 "$ckpt_run" -d "$work/ckpt.nostart" --hostfile hosts -n 2 "$work/jacobi" 100 200 \
        >nostart.out 2>nostart.err || rc=$?
    ((rc == 0)) || fail "ckpt-run exited $rc"
    for line in "3: host $(nshosts_addr 1)" "4: host $NSHOSTS_NET.77"; do
        grep -q "^ckpt-run: hosts:$line did not start" nostart.err || fail "no 'hosts:$line did not start'"
    done
    grep -q "^ckpt-run: spare host $NSHOSTS_NET.78 did not start" nostart.err || fail "no 'spare host ... did not start'"
    grep -q "^checksum" nostart.out || fail "the job printed no checksum"
    jobtest_report "$name" $ok nostart.err
    nshosts_stop
}

# newest_hosts DIR: "vtid host" for each task of DIR's newest commit
newest_hosts() {
    "$ckpt_info" --json "$1" | python3 -c '
import json, sys
e = json.load(sys.stdin)["epochs"]
for t in (e[0]["tasks"] if e else []):
    print("t%x %s" % (t["vtid"], t["host"]))'
}

# on_host HOST: the vtids newest_hosts puts on HOST, sorted, on one line
on_host() { awk -v h="$1" '$2 == h { print $1 }' hosts.now | sort | paste -sd' '; }

spare() {
    local kind=$1 pid rc=0 t0 lost spare_addr got want c dest v
    name="spare:$kind" ok=1
    if [[ ! -s expected ]]; then
        pvmvm_start --ep "$work" --wd "$work"
        pvmvm_run 120 "$work/plain" "${ARGS[@]}" 4 >expected 2>plain.err ||
            pvmvm_fail "plain run failed: $(cat plain.err)"
        pvmvm_stop
    fi
    nshosts_make 4
    lost=$(nshosts_addr 1) spare_addr=$(nshosts_addr 3)
    # (no ep= on the '*' line: ckpt-run's finds jacobi next to itself)
    printf '%s\n' "# the job's hosts" "* wd=$work" "$(nshosts_addr 0)" "$lost" "$(nshosts_addr 2)" \
        "& $spare_addr" >hosts
    rm -rf ckpt.hf
    jobtest_hold "$work/hold"
    nshosts_exec 0 "$ckpt_run" -v -i 0.3 -d "$work/ckpt.hf" --hostfile hosts -n 4 "$work/jacobi" "${ARGS[@]}" \
        >hf.out 2>hf.err &
    pid=$!
    jobtest_wait_for hf.err "checkpoint 2 committed" $pid 1 60 || fail "no checkpoint 2"
    newest_hosts ckpt.hf >hosts.now || fail "ckpt-info cannot read ckpt.hf"
    for k in 0 1 2; do
        [[ -n $(on_host "$(nshosts_addr "$k")") ]] || fail "no task on host $k: $(paste -sd, hosts.now)"
    done
    [[ -z $(on_host "$spare_addr") ]] || fail "tasks on the spare before any loss: $(on_host "$spare_addr")"
    want=$(on_host "$lost")
    echo "# $name: tasks by host: $(paste -sd, hosts.now)"

    rc=0
    nshosts_exec 0 "$ckpt_run" --hostfile hosts -d "$work/ckpt.second" -n 1 "$work/jacobi" 10 10 \
        >second.out 2>second.err || rc=$?
    if ((rc != 2)) || ! grep -q "a pvmd already runs" second.err; then
        fail "a second ckpt-run --hostfile on the running machine: status $rc, $(cat second.err)"
    fi

    t0=$SECONDS
    case $kind in
    term) kill -TERM "$(nshosts_pvmd_pid 1)" ;;
    cut) nshosts_cut 1 ;;
    off) nshosts_kill_all 1 ;;
    esac
    jobtest_wait_for hf.err "host $lost .* left the virtual machine" $pid 1 $NOTICE_S ||
        fail "ckpt-run never said that $lost left"
    echo "# $name: noticed $((SECONDS - t0)) s after the loss"
    got=$(sed -n "s/^ckpt-run: spare host $spare_addr takes the tasks of host $lost: //p" hf.err | tr ' ' '\n' | sort | paste -sd' ')
    if [[ $kind == term ]]; then
        dest=$spare_addr
        [[ $got == "$want" ]] || fail "the spare took '$got', host 1 ran '$want'"
    else
        dest=$(nshosts_addr 0)
        [[ -z $got ]] || fail "a spare took tasks after a silent loss: $got"
    fi
    if jobtest_wait_for hf.err "recovered from checkpoint" $pid 1 60; then
        echo "# $name: recovered $((SECONDS - t0)) s after the loss: $(grep -o 'recovered from checkpoint .*' hf.err)"
        c=$(jobtest_commits hf.err)
        jobtest_wait_for hf.err '^ckpt-run: checkpoint [0-9]* committed' $pid $((c + 1)) 60 ||
            fail "no checkpoint committed after the recovery"
        newest_hosts ckpt.hf >hosts.now || fail "ckpt-info cannot read ckpt.hf"
        echo "# $name: tasks by host after the recovery: $(paste -sd, hosts.now)"
        got=" $(on_host "$dest") "
        for v in $want; do
            [[ $got == *" $v "* ]] || fail "after the recovery $v is not on host $dest"
        done
        [[ -z $(on_host "$lost") ]] || fail "tasks still on the lost host: $(on_host "$lost")"
        [[ $dest == "$spare_addr" || -z $(on_host "$spare_addr") ]] ||
            fail "tasks on the spare: $(on_host "$spare_addr")"
    else
        fail "no recovery"
    fi
    jobtest_release
    local deadline=$((SECONDS + 120))
    while kill -0 $pid 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill -9 $pid; fail "ckpt-run still running after 120 s"; }
    rc=0
    wait $pid || rc=$?
    ((rc == 0)) || fail "ckpt-run exited $rc"
    cmp -s expected hf.out || { fail "output differs from the plain run"; diff expected hf.out | head -n 5 || true; }
    jobtest_resumed hf.err || fail "did not resume from the last committed checkpoint"
    grep -q "job ended after .* 1 recover" hf.err || fail "not exactly one recovery"
    jobtest_report "$name" $ok hf.err
    nshosts_stop
}

for s in "${scenarios[@]}"; do
    case $s in
    bad) bad ;;
    nostart) nostart ;;
    spare:term | spare:cut | spare:off) spare "${s#spare:}" ;;
    *) echo "hostfile.sh: no scenario $s" >&2; exit 2 ;;
    esac
done
echo "# hostfile: $passed passed, $failed failed"
((failed == 0))
