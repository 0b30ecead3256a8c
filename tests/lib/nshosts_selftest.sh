#!/usr/bin/env bash
# Self-test of tests/lib/nshosts.sh: three hosts, each a network namespace
# with its own pvmd, join one virtual machine; a program spawned on each runs
# in that host's namespace; every operation on a host does what it says
# (link cut and back, pause and go on, pvmd SIGKILLed, everything killed);
# and nothing made stays behind: at the end, when the test fails, and when
# the test shell is SIGKILLed (the watchdog).  Needs root.
set -eEuo pipefail
trap 'echo "selftest: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pvmvm.sh
. "$here/pvmvm.sh"
# shellcheck source=nshosts.sh
. "$here/nshosts.sh"

if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null || ! command -v ping >/dev/null; then
    echo "SKIP: needs root, ip (iproute2) and ping (iputils-ping)"
    exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2016 # eval'ed at exit
pvmvm_at_exit 'rm -rf "$work"'      # (which pvmvm_start's EXIT trap runs)
fail() { pvmvm_fail "$@"; }
gone() { ! pvmvm_alive "$1"; }
# until SECONDS CMD...: true once CMD succeeds, false after SECONDS
until_ok() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}
our_namespaces() { ip netns list | awk -v p="$1-" 'index($1, p) == 1 { print $1 }'; }
root_links() { ip -o link show | awk '{ print $2 }' | sort; }
netns_of() { readlink "/proc/$1/ns/net" 2>/dev/null || true; }
ns_id() { echo "net:[$(stat -L -c %i "/run/netns/$(nshosts_ns "$1")")]"; }
states() {
    local p
    for p in "$@"; do printf '%s' "$(pvmvm_state "$p")"; done
}

cc -O -Wall "$here/nsprobe.c" -o "$work/nsprobe" -lpvm3
links_before=$(root_links)

# ---- 1: three hosts in one machine
nshosts_start 3 --ep "$work" --wd "$work"
prefix=$NSHOSTS_PREFIX
A=$(nshosts_addr 0) B=$(nshosts_addr 1) C=$(nshosts_addr 2)
[[ $(our_namespaces "$prefix" | wc -l) == 4 ]] || fail "namespaces: $(our_namespaces "$prefix")"
conf=$(pvmvm_console conf)
for h in "$A" "$B" "$C"; do
    grep -q "^ *$h  *[0-9a-f]* *LINUX64" <<<"$conf" || fail "conf does not list $h: $conf"
done
[[ $(grep -c ' LINUX64 ' <<<"$conf") == 3 ]] || fail "conf: not 3 hosts: $conf"
for k in 0 1 2; do
    p=$(nshosts_pvmd_pid "$k")
    [[ -n $p ]] || fail "no pvmd on host $k"
    [[ $(netns_of "$p") == "$(ns_id "$k")" ]] || fail "pvmd $p of host $k is not in $(nshosts_ns "$k")"
done
[[ $(netns_of $$) != "$(ns_id 0)" ]] || fail "the test shell is in host 0's namespace"
echo "ok 1 - 3 hosts, each with its pvmd in its namespace, in conf"

# ---- 2: a program spawned on each host runs in that host's namespace
out=$(pvmvm_run 30 "$work/nsprobe" run "$A" "$B" "$C")
k=0
for h in "$A" "$B" "$C"; do
    read -r host _ pid net < <(awk -v h="$h" '$1 == h' <<<"$out") || true
    [[ ${host:-} == "$h" ]] || fail "no copy reported from $h: $out"
    [[ $net == "$(ns_id $k)" ]] || fail "the copy on $h (pid $pid) ran in $net, not in $(ns_id $k)"
    k=$((k + 1))
done
[[ $(awk '{ print $4 }' <<<"$out" | sort -u | wc -l) == 3 ]] || fail "copies share a namespace: $out"
# a program started on host 1 enrolls with host 1's pvmd: its tid is host 1's (0x8xxxx)
out=$(nshosts_exec 1 timeout 30 "$work/nsprobe" run "$C")
[[ $(awk '{ print $4 }' <<<"$out") == "$(ns_id 2)" ]] || fail "nshosts_exec 1: spawn on $C: $out"
echo "ok 2 - spawned copies run in their host's namespace (also from host 1)"

# ---- 3: links: every host reaches every other; a cut host none, and back
for k in 0 1 2; do
    for j in 0 1 2; do
        ((k == j)) || nshosts_reachable "$k" "$j" || fail "host $k does not reach host $j"
    done
done
nshosts_cut 2
! nshosts_reachable 0 2 || fail "host 0 reaches host 2 after its cut"
! nshosts_reachable 1 2 || fail "host 1 reaches host 2 after its cut"
! nshosts_reachable 2 0 || fail "host 2 reaches host 0 after its cut"
nshosts_reachable 0 1 || fail "the cut of host 2 cut host 1 too"
nshosts_uncut 2
until_ok 10 nshosts_reachable 0 2 || fail "host 2 not back after nshosts_uncut"
# (a short cut is no loss for PVM: host 2 still takes a spawn)
out=$(pvmvm_run 60 "$work/nsprobe" run "$C")
[[ $(awk '{ print $4 }' <<<"$out") == "$(ns_id 2)" ]] || fail "spawn on $C after the cut: $out"
nshosts_cut 0
! nshosts_reachable 1 0 || fail "host 1 reaches the cut master"
nshosts_reachable 1 2 || fail "the master's cut cut the slaves apart"
nshosts_uncut 0
until_ok 10 nshosts_reachable 1 0 || fail "master not back after nshosts_uncut"
echo "ok 3 - cut and uncut (slave, master)"

# ---- 4: tasks held on each host; pause and go on
: >"$work/hold.out"
"$work/nsprobe" hold "$A" "$B" "$C" >"$work/hold.out" 2>&1 &
holder=$!
pvmvm_at_exit "kill $holder 2>/dev/null || true"
held() { (($(wc -l <"$work/hold.out") >= 3)); }
until_ok 30 held || fail "hold: $(cat "$work/hold.out")"
task_pid() { awk -v h="$1" '$1 == h { print $3 }' "$work/hold.out"; }
tb=$(task_pid "$B") tc=$(task_pid "$C")
pb=$(nshosts_pvmd_pid 1) pc=$(nshosts_pvmd_pid 2)
grep -qx "$tb" <(nshosts_pids 1) || fail "task $tb not among host 1's processes: $(nshosts_pids 1)"
nshosts_pause 1
[[ $(states "$pb" "$tb") == TT ]] || fail "pause: pvmd $pb and task $tb are '$(states "$pb" "$tb")'"
# shellcheck disable=SC2046 # one pid a word
[[ $(states $(nshosts_pids 1)) =~ ^T+$ ]] || fail "pause: a process of host 1 runs"
[[ $(states "$pc" "$tc") != *T* ]] || fail "pause of host 1 stopped host 2"
nshosts_resume 1
# shellcheck disable=SC2016 # eval'ed later
until_ok 5 eval '[[ $(states "$pb" "$tb") != *T* ]]' || fail "resume: still '$(states "$pb" "$tb")'"
out=$(pvmvm_run 60 "$work/nsprobe" run "$B")
[[ $(awk '{ print $4 }' <<<"$out") == "$(ns_id 1)" ]] || fail "spawn on $B after the pause: $out"
echo "ok 4 - pause stops host 1's pvmd and task (T), resume lets them go on"

# ---- 5: SIGKILL of a pvmd; everything killed
nshosts_kill_pvmd 2
gone "$pc" || fail "pvmd $pc of host 2 alive after nshosts_kill_pvmd"
[[ -z $(nshosts_pvmd_pid 2) ]] || fail "nshosts_pvmd_pid 2 still names a pvmd"
pvmvm_alive "$pb" || fail "host 1's pvmd died with host 2's"
nshosts_kill_all 1
if ! gone "$pb" || ! gone "$tb"; then fail "nshosts_kill_all 1: pvmd $pb or task $tb alive"; fi
[[ -z $(nshosts_pids 1) ]] || fail "nshosts_kill_all 1 left $(nshosts_pids 1)"
pvmvm_alive "$PVMVM_PID" || fail "the master died with its slaves"
echo "ok 5 - nshosts_kill_pvmd and nshosts_kill_all"

# ---- 6: everything goes at the end
master=$PVMVM_PID tmp=$PVMVM_TMP
nshosts_stop
gone "$master" || fail "master pvmd $master alive after nshosts_stop"
until_ok 5 gone "$holder" || fail "the holding task $holder outlived the machine"
[[ ! -e $tmp ]] || fail "$tmp left"
[[ -z $(our_namespaces "$prefix") ]] || fail "namespaces left: $(our_namespaces "$prefix")"
[[ $(root_links) == "$links_before" ]] || fail "links of this computer changed: $(diff <(echo "$links_before") <(root_links))"
echo "ok 6 - nshosts_stop leaves no pvmd, task, folder, namespace or link"

# ---- 7: a failing test and a SIGKILLed test clean up too
# run_case NAME SCRIPT: a test shell (exec'ed: run it in a subshell) that
# writes "PREFIX MASTER SLAVE TMP" to $work/NAME.info after nshosts_start 2,
# then runs SCRIPT
run_case() {
    exec bash -c '. "$1/pvmvm.sh"; . "$1/nshosts.sh"; set -e; nshosts_start 2
             echo "$NSHOSTS_PREFIX $PVMVM_PID $(nshosts_pvmd_pid 1) $PVMVM_TMP" >"$2"; '"$2" \
        _ "$here" "$work/$1.info" </dev/null >/dev/null 2>&1
}
check_case() {
    local p m s t
    read -r p m s t <"$work/$1.info"
    until_ok "$2" eval "gone $m && gone $s && [[ ! -e $t && -z \$(our_namespaces $p) ]]" ||
        fail "$1: left behind: pvmds $m $s, $t, namespaces $(our_namespaces "$p")"
}
(run_case failing 'nshosts_cut 1; false; echo unreachable') && fail "a failing test returned 0"
check_case failing 1
run_case killed 'nshosts_pause 1; exec sleep 60' & x=$!
until_ok 30 test -s "$work/killed.info" || fail "the test to be killed did not start"
kill -KILL "$x"
wait "$x" 2>/dev/null || true
check_case killed 20
[[ $(root_links) == "$links_before" ]] || fail "links of this computer changed"
echo "ok 7 - a failing test and a SIGKILLed one (paused host) leave nothing"
echo PASS
