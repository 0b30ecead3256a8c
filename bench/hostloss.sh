#!/usr/bin/env bash
# bench/hostloss.sh: what PVM itself does when a host is lost, on hosts made
# as network namespaces (tests/lib/nshosts.sh), before ckpt-run watches
# anything: the facts issue 17's detection and recovery start from.  Slow
# (PVM's time-out is minutes): run by hand, never by ctest.  Needs root.
#
#   bench/hostloss.sh [-o FILE] [--busy] kill|cut|killall
#
# Three hosts (the master, hosts 1 and 2).  tests/lib/nsprobe.c puts a task
# on each; a task on this computer (enrolled with the master) blocks in
# pvm_recv from the task on host 2, another asks for PvmHostDelete of host 2
# and PvmTaskExit of its task.  Then host 2 is lost:
#   kill      its pvmd gets SIGKILL (its task is left alone)
#   cut       its link goes down (its pvmd and task keep running)
#   killall   every process on it gets SIGKILL (power lost)
# Printed: ms from the loss until each notice, whether and when the blocked
# pvm_recv returned, whether host 2's own pvmd noticed it lost the master
# (cut), then whether the same address can be added back (after the
# namespace is made anew).  --busy: the task on host 2 is pinged (a message
# there and back) every 0.5 s while waiting, as a running job would talk.
# The lines are appended to FILE if given.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=../tests/lib/pvmvm.sh
. "$top/tests/lib/pvmvm.sh"
# shellcheck source=../tests/lib/nshosts.sh
. "$top/tests/lib/nshosts.sh"

out=/dev/null busy=0 mode=
while (($#)); do
    case $1 in
    -o) out=$2; shift 2 ;;
    --busy) busy=1; shift ;;
    kill | cut | killall) mode=$1; shift ;;
    *) echo "usage: hostloss.sh [-o FILE] [--busy] kill|cut|killall" >&2; exit 2 ;;
    esac
done
[[ -n $mode ]] || { echo "usage: hostloss.sh [-o FILE] [--busy] kill|cut|killall" >&2; exit 2; }
LIMIT=600      # s to wait for PVM's notice

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pvmvm_at_exit 'rm -rf "$work"'
cc -O -Wall "$top/tests/lib/nsprobe.c" -o "$work/nsprobe" -lpvm3
now_ms() { date +%s%3N; }
say() { echo "$*" | tee -a "$out"; }
lines() { wc -l <"$1"; }
wait_lines() {   # FILE N SECONDS
    local deadline=$((SECONDS + $3))
    until (($(lines "$1") >= $2)); do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

nshosts_start 3 --ep "$work" --wd "$work"
A=$(nshosts_addr 0) B=$(nshosts_addr 1) C=$(nshosts_addr 2)
: >"$work/hold"; : >"$work/watch"
"$work/nsprobe" hold "$A" "$B" "$C" >"$work/hold" 2>&1 &
wait_lines "$work/hold" 3 30 || pvmvm_fail "hold: $(cat "$work/hold")"
tidc=$(awk -v h="$C" '$1 == h { print $2 }' "$work/hold")
"$work/nsprobe" watch "$C" "$tidc" >"$work/watch" 2>&1 &
wait_lines "$work/watch" 1 30 || pvmvm_fail "watch: $(cat "$work/watch")"
if ((busy)); then
    # a second copy on host 2, pinged by a plain console-free loop: nsprobe
    # run spawns, exchanges one message and ends; repeated it keeps packets
    # going between the master and host 2
    (while sleep 0.5; do timeout 5 "$work/nsprobe" run "$C" >/dev/null 2>&1 || true; done) &
    pinger=$!
    pvmvm_at_exit "kill $pinger 2>/dev/null || true"
fi
pvmd2=$(nshosts_pvmd_pid 2)

t0=$(now_ms)
case $mode in
kill) nshosts_kill_pvmd 2 ;;
cut) nshosts_cut 2 ;;
killall) nshosts_kill_all 2 ;;
esac
say "# $(date -u +%FT%TZ) hostloss $mode$( ((busy)) && echo ' --busy'): host 2 ($C) lost at t0"

deadline=$((SECONDS + LIMIT))
until grep -q '^hostdelete' "$work/watch"; do
    ((SECONDS < deadline)) || break
    if [[ $mode == cut && -z ${slave_gone:-} ]] && ! pvmvm_alive "$pvmd2"; then
        slave_gone=$(($(now_ms) - t0))
    fi
    sleep 0.2
done
if ((busy)); then kill "$pinger" 2>/dev/null || true; fi
t1=$(now_ms)
# the blocked pvm_recv: give it 5 s more after the notice
wait_lines "$work/hold" 4 5 || true
at() { awk -v w="$1" -v t0="$t0" '$1 == w { print $NF - t0; exit }' "$2"; }
hd=$(at hostdelete "$work/watch") te=$(at taskexit "$work/watch")
rv=$(awk -v t0="$t0" '$1 == "recv" { print "returned " $2 " after " $4 - t0 " ms"; exit }' "$work/hold")
say "$mode: PvmHostDelete after ${hd:-none (>$LIMIT s)} ms; PvmTaskExit of the task on host 2 after ${te:-none} ms"
say "$mode: pvm_recv from the task on host 2: ${rv:-still blocked $(($(now_ms) - t1)) ms after the notice}"
if [[ $mode == cut ]]; then
    if pvmvm_alive "$pvmd2"; then
        say "cut: host 2's pvmd (cut off from the master) still runs after $(($(now_ms) - t0)) ms"
    else
        say "cut: host 2's pvmd exited by itself after ${slave_gone:-?} ms"
    fi
fi
echo "# master's log since the loss:"
awk -v from="$(date -u -d "@$((t0 / 1000))" +%T)" '$3 >= from' "$PVMVM_LOG" | sed 's/^/#   /' | tail -n 20

# adding the same address back
if [[ -n $hd ]]; then
    nshosts_remove_host 2
    if nshosts_add_host 2 && [[ $(pvmvm_console conf | grep -c ' LINUX64 ') == 3 ]] &&
        r=$(timeout 30 "$work/nsprobe" run "$C") && [[ $r == "$C "* ]]; then
        say "$mode: host 2 added back at the same address: ok (conf lists 3 hosts, a task runs there)"
    else
        say "$mode: host 2 could not be added back"
    fi
fi
