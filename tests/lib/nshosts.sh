# shellcheck shell=bash
# nshosts.sh: the hosts of a test's virtual machine as Linux network
# namespaces of this computer, each with its own network stack, its own
# address on a private bridge and its own pvmd, so that a test can lose one
# the way a real host is lost.  Needs root and iproute2 (`ip`); ping
# (iputils-ping) for nshosts_reachable.  Source it after pvmvm.sh:
#
#   . tests/lib/pvmvm.sh
#   . tests/lib/nshosts.sh
#   nshosts_start 3 --ep "$work" --wd "$work"   # host 0 (the master), 1, 2
#   nshosts_cut 2                               # host 2's cable pulled
#
# The network: a switch namespace PREFIX-sw holds a bridge br0 and one port
# pK per host; host K is namespace PREFIX-hK, whose eth0 (the other end of
# pK's veth pair) has address 10.213.0.(K+1)/24 and whose lo is up.
# Nothing is made in this computer's own namespace: two tests at once use
# the same addresses on bridges that never meet, and no packet of a cut
# host can leave through the computer's own routes.  PREFIX is
# ckpt-<shell pid>-<random>, checked unused.
#
# The machine: host 0 is the master pvmd (pvmvm_start --hosts --master ADDR
# --netns PREFIX-h0: PVM names each host by its address); hosts 1..N-1 are
# slave pvmds that the master starts through PVM_RSH (pvmvm.sh's script,
# which runs the slave in the namespace named in PVMVM_TMP/host.ADDR/netns).
# A task runs in the namespace of the pvmd that spawned it.  The files are
# shared by every host (only the network is namespaced), as a cluster's
# shared file system: a checkpoint folder is seen by all hosts.  The test
# shell and what it runs stay in the computer's namespace: the console and
# tasks started there reach the master through its Unix socket (a file);
# run a program as if on host K with nshosts_exec K.
#
#   nshosts_start N [pvmvm_start options: --ep, --wd, --timeout]
#       Makes the switch and N hosts, starts the master on host 0, adds
#       hosts 1..N-1 to the machine and waits until each is up.  Installs
#       (through pvmvm_at_exit and pvmvm_at_watchdog) the clean-up: every
#       namespace made goes, with its veth ends and the bridge, at the
#       test's exit, also when it fails, and within about 2 s should the
#       test shell be SIGKILLed.  Call it in the test's shell (not in $( )).
#   nshosts_make N [pvmvm_start options: --ep, --wd]
#       The same hosts without any pvmd, for a test whose program starts the
#       machine itself on host 0 (nshosts_exec 0 ckpt-run --hostfile FILE):
#       the switch, hosts 0..N-1, the machine's environment (pvmvm_start
#       --no-pvmd: PVM_VMID, PVM_TMP, the PVM_RSH stand-in) and each slave's
#       PVMVM_TMP/host.ADDR/netns, so that the hosts FILE names (by address)
#       start in their namespaces; the same clean-up.
#   nshosts_stop
#       Halts the machine (pvmvm_stop; when a host was cut, killed or
#       paused, SIGKILL to every slave's processes and SIGTERM to the
#       master instead: see there; after nshosts_make, kills everything on
#       every host first), then kills whatever still runs in the
#       namespaces and deletes them.  Idempotent; the EXIT trap runs it.
#   nshosts_add_host K
#       (Re)makes host K (its namespace if missing) and adds it to the
#       machine: for a host beyond N-1, or to add back a host that was lost
#       (nshosts_remove_host K first, and `delete` it from the machine if
#       the master still lists it).
#   nshosts_remove_host K      kills everything on host K and deletes its
#                              namespace (its port on the bridge goes too)
#
# What a test does to host K (K = 0 is the master):
#   nshosts_cut K              its link down (the switch's end of its cable:
#                              the host sees no carrier, packets vanish)
#   nshosts_uncut K            its link up again
#   nshosts_kill_pvmd K [PID]  SIGKILL to its pvmd (PID: its pid, found
#                              before: finding it takes a second or two);
#                              returns once it is gone
#   nshosts_kill_all K         SIGKILL to every process on it (power off);
#                              returns once none is left
#   nshosts_pause K            SIGSTOP to its pvmd and its tasks (every
#                              process on it); returns once all are stopped
#   nshosts_resume K           SIGCONT to every process on it
#
# Looking at host K:
#   nshosts_ns K               its namespace's name
#   nshosts_addr K             its address (its name in PVM)
#   nshosts_pvmd_pid K         its pvmd's pid; nothing if none runs
#   nshosts_pids K             the pids of every process on it
#   nshosts_tasks K PROG       "TID PID" of each task of the machine that runs
#                              PROG on it (tids in hex, as the console prints)
#   nshosts_exec K CMD...      runs CMD on host K: in its namespace, with the
#                              PVM_TMP of its pvmd (a PVM program enrolls
#                              there); the pid of `nshosts_exec K prog &` is
#                              prog's (ip netns exec and env exec)
#   nshosts_reachable K J      true if host K gets an answer to one ping of
#                              host J's address within 1 s
#
# NSHOSTS_LOCAL=DIR, set before nshosts_start or nshosts_add_host: each
# host K >= 1 has a folder of its own at path DIR, DIR.hK mounted there for
# its pvmd and the tasks it starts (host 0, and the test shell, see DIR
# itself): a folder on each host's own disk.
#
# nshosts_need_root: exits 77 (ctest's skip) with a line saying why unless
# this shell is root and has ip: the first thing a test of hosts does.
#
# Variables: NSHOSTS_PREFIX, NSHOSTS_SWITCH (the switch namespace),
# NSHOSTS_N (hosts made: 0..NSHOSTS_N-1), NSHOSTS_NET (10.213.0).
#
# Measured with bench/hostloss.sh (PVM 3.4.6, Debian 12; what PVM
# itself does when a host is lost, before ckpt-run watches anything):
# see the section at the end of this file.

NSHOSTS_NET=10.213.0
NSHOSTS_PREFIX=
NSHOSTS_SWITCH=
NSHOSTS_N=0
NSHOSTS__HARMED=0   # a host was cut, killed or paused: a console may hang

nshosts__err() { printf 'nshosts: %s\n' "$*" >&2; }

nshosts_need_root() {
    if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
        echo "SKIP: hosts as network namespaces need root and ip (iproute2)"
        exit 77
    fi
}
nshosts_ns() { printf '%s-h%d\n' "$NSHOSTS_PREFIX" "$1"; }
nshosts_addr() { printf '%s.%d\n' "$NSHOSTS_NET" $(($1 + 1)); }

# nshosts__pids_of NS: pids of the processes in namespace NS
nshosts__pids_of() { ip netns pids "$1" 2>/dev/null || true; }
nshosts_pids() { nshosts__pids_of "$(nshosts_ns "$1")"; }
nshosts_tasks() {
    local tid p cmd on
    on=$(nshosts_pids "$1")
    pvmvm_tasks | while read -r tid p cmd; do
        if [[ $cmd == "$2" ]] && grep -qx "$p" <<<"$on"; then echo "$tid $p"; fi
    done
}

# nshosts__kill_ns NS: SIGKILL every process in NS until none is left (a
# process may fork while we kill); false if some remain after 5 s.
nshosts__kill_ns() {
    local ns=$1 pids deadline=$((SECONDS + 5))
    while pids=$(nshosts__pids_of "$ns") && [[ -n $pids ]]; do
        ((SECONDS < deadline)) || { nshosts__err "processes left in $ns: $pids"; return 1; }
        # shellcheck disable=SC2086 # one pid a word
        kill -KILL $pids 2>/dev/null || true
        sleep 0.05
    done
    return 0
}

# nshosts__remove_all PREFIX: every namespace named PREFIX-*, emptied and
# deleted (the watchdog runs this too; it knows only the prefix).
nshosts__remove_all() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk -v p="$1-" 'index($1, p) == 1 { print $1 }'); do
        nshosts__kill_ns "$ns" || true
        ip netns del "$ns" 2>/dev/null || nshosts__err "cannot delete namespace $ns"
    done
    return 0
}

# nshosts__mac K: host K's MAC address, the same each time it is made (a host
# made again at the same address: the others' ARP entries stay right)
nshosts__mac() { printf '02:00:0a:d5:00:%02x\n' $(($1 + 1)); }

# nshosts__make_host K: namespace, lo up, a veth pair from the switch, address
nshosts__make_host() {
    local k=$1 ns
    ns=$(nshosts_ns "$k")
    if ! { ip netns add "$ns" &&
        ip -n "$ns" link set lo up &&
        ip -n "$NSHOSTS_SWITCH" link add "p$k" type veth peer name eth0 address "$(nshosts__mac "$k")" netns "$ns" &&
        ip -n "$NSHOSTS_SWITCH" link set "p$k" master br0 up &&
        ip -n "$ns" addr add "$(nshosts_addr "$k")/24" dev eth0 &&
        ip -n "$ns" link set eth0 up; }; then
        nshosts__err "cannot make host $k (namespace $ns)"
        return 1
    fi
    ((k < NSHOSTS_N)) || NSHOSTS_N=$((k + 1))
}

nshosts_reachable() {
    ip netns exec "$(nshosts_ns "$1")" ping -c 1 -W 1 -q "$(nshosts_addr "$2")" >/dev/null 2>&1
}

# nshosts__setup N: the checks, an unused prefix, the clean-up, the switch
# and host 0
nshosts__setup() {
    local n=$1 try
    if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n > 249)); then
        nshosts__err "nshosts_start: N must be 1 to 249"
        return 2
    fi
    [[ -z $NSHOSTS_PREFIX ]] || { nshosts__err "nshosts_start: hosts already made ($NSHOSTS_PREFIX)"; return 1; }
    command -v ip >/dev/null || { nshosts__err "no ip command (iproute2)"; return 1; }
    for try in 1 2 3 4 5 6 7 8 9 10 0; do
        ((try)) || { nshosts__err "no unused namespace prefix"; return 1; }
        NSHOSTS_PREFIX=ckpt-$$-$RANDOM
        [[ -z $(ip netns list | awk -v p="$NSHOSTS_PREFIX-" 'index($1, p) == 1') ]] && break
    done
    NSHOSTS_SWITCH=$NSHOSTS_PREFIX-sw
    NSHOSTS_N=0
    pvmvm_at_exit nshosts_stop
    pvmvm_at_watchdog "nshosts__remove_all $NSHOSTS_PREFIX"
    if ! { ip netns add "$NSHOSTS_SWITCH" &&
        ip -n "$NSHOSTS_SWITCH" link add br0 type bridge &&
        ip -n "$NSHOSTS_SWITCH" link set br0 up; }; then
        nshosts__err "cannot make the switch $NSHOSTS_SWITCH (root and a kernel with network namespaces needed)"
        return 1
    fi
    nshosts__make_host 0
}

# nshosts__slave_dir K: host K's PVM_TMP under the master's, naming its
# namespace for pvmvm.sh's rsh stand-in
nshosts__slave_dir() {
    local dir
    dir=$PVMVM_TMP/host.$(nshosts_addr "$1")
    # a pvmd killed earlier left its socket and address file there
    rm -rf "$dir" && mkdir -p "$dir" && nshosts_ns "$1" >"$dir/netns" || return 1
    if [[ -n ${NSHOSTS_LOCAL:-} ]]; then
        mkdir -p -m 700 "$NSHOSTS_LOCAL" "$NSHOSTS_LOCAL.h$1" &&
            echo "$NSHOSTS_LOCAL.h$1 $NSHOSTS_LOCAL" >"$dir/bind" || return 1
    fi
}

nshosts_start() {
    local n=$1 k
    shift
    nshosts__setup "$n" || return
    pvmvm_start --hosts --master "$(nshosts_addr 0)" --netns "$(nshosts_ns 0)" "$@" || return 1
    for ((k = 1; k < n; k++)); do
        nshosts_add_host "$k" || return 1
    done
}

nshosts_make() {
    local n=$1 k
    shift
    nshosts__setup "$n" || return
    pvmvm_start --no-pvmd --hosts --master "$(nshosts_addr 0)" "$@" || return 1
    for ((k = 1; k < n; k++)); do
        nshosts__make_host "$k" && nshosts__slave_dir "$k" || return 1
    done
}

nshosts_add_host() {
    local k=$1 addr ns deadline=$((SECONDS + 10))
    addr=$(nshosts_addr "$k") ns=$(nshosts_ns "$k")
    ((k > 0)) || { nshosts__err "nshosts_add_host: host 0 is the master"; return 1; }
    if [[ -n $(pvmvm_host_pid "$addr") ]]; then
        nshosts__err "nshosts_add_host: a pvmd of host $k ($addr) still runs"
        return 1
    fi
    [[ -e /run/netns/$ns ]] || nshosts__make_host "$k" || return 1
    until nshosts_reachable 0 "$k"; do
        ((SECONDS < deadline)) || { nshosts__err "host $k ($addr) does not answer the master"; return 1; }
        sleep 0.05
    done
    nshosts__slave_dir "$k" || return 1
    pvmvm_add_host "$addr"
}

nshosts_remove_host() {
    local ns
    ns=$(nshosts_ns "$1")
    [[ -e /run/netns/$ns ]] || return 0
    nshosts__kill_ns "$ns" || return 1
    ip netns del "$ns"
}

nshosts_pvmd_pid() {
    if (($1 == 0)); then
        pvmvm_alive "$PVMVM_PID" && echo "$PVMVM_PID"
        return 0
    fi
    pvmvm_host_pid "$(nshosts_addr "$1")"
}

nshosts_exec() {
    local k=$1 tmp=$PVMVM_TMP
    shift
    ((k == 0)) || tmp=$PVMVM_TMP/host.$(nshosts_addr "$k")
    ip netns exec "$(nshosts_ns "$k")" env PVM_TMP="$tmp" "$@"
}

nshosts_cut() { NSHOSTS__HARMED=1; ip -n "$NSHOSTS_SWITCH" link set "p$1" down; }
nshosts_uncut() { ip -n "$NSHOSTS_SWITCH" link set "p$1" up; }

nshosts_kill_pvmd() {
    local pid=${2:-}
    [[ -n $pid ]] || pid=$(nshosts_pvmd_pid "$1")
    [[ -n $pid ]] || { nshosts__err "nshosts_kill_pvmd: no pvmd runs on host $1"; return 1; }
    NSHOSTS__HARMED=1
    kill -KILL "$pid"
    pvmvm__wait_gone "$pid" 5
}

nshosts_kill_all() { NSHOSTS__HARMED=1; nshosts__kill_ns "$(nshosts_ns "$1")"; }

# nshosts_pause K: SIGSTOP, the pvmd first, until every process of host K
# is stopped (one forked meanwhile is stopped on the next round)
nshosts_pause() {
    local k=$1 pid pids deadline=$((SECONDS + 5)) running
    NSHOSTS__HARMED=1
    pid=$(nshosts_pvmd_pid "$k")
    [[ -z $pid ]] || kill -STOP "$pid" 2>/dev/null || true
    while :; do
        running=
        pids=$(nshosts_pids "$k")
        for pid in $pids; do
            [[ $(pvmvm_state "$pid") == [TtZ] ]] || { running+=" $pid"; kill -STOP "$pid" 2>/dev/null || true; }
        done
        [[ -n $running ]] || return 0
        ((SECONDS < deadline)) || { nshosts__err "host $1: not stopped:$running"; return 1; }
        sleep 0.02
    done
}

nshosts_resume() {
    local pids
    pids=$(nshosts_pids "$1")
    # shellcheck disable=SC2086 # one pid a word
    [[ -z $pids ]] || kill -CONT $pids 2>/dev/null || true
}

nshosts_stop() {
    local k
    [[ -n $NSHOSTS_PREFIX ]] || return 0
    if [[ -z $PVMVM_PID ]]; then
        # (nshosts_make) the master is a program's, in host 0: it and every
        # slave go with their hosts' processes
        for ((k = 0; k < NSHOSTS_N; k++)); do
            nshosts__kill_ns "$(nshosts_ns "$k")" || true
        done
    fi
    if ((NSHOSTS__HARMED)) && pvmvm_alive "$PVMVM_PID"; then
        # While the master has a host it cannot reach (until PVM's time-out,
        # minutes), a `pvm` console hangs at its start (in pvm_setopt): no
        # halt.  Every slave's processes are killed, then the master gets
        # SIGTERM, on which it ends its own tasks (also those of this test
        # outside its namespace) and exits.
        for ((k = 1; k < NSHOSTS_N; k++)); do
            nshosts__kill_ns "$(nshosts_ns "$k")" || true
        done
        kill -TERM "$PVMVM_PID" 2>/dev/null || true
        pvmvm__wait_gone "$PVMVM_PID" "$PVMVM_STOP_TIMEOUT" || true
    fi
    pvmvm_stop
    nshosts__remove_all "$NSHOSTS_PREFIX"
    NSHOSTS_PREFIX='' NSHOSTS_SWITCH='' NSHOSTS_N=0 NSHOSTS__HARMED=0
}

# ---- Measured: what PVM 3.4.6 itself does when a host is lost ----
# bench/hostloss.sh [--busy] kill|cut|killall, 3 hosts, host 2 lost, Debian
# 12, 2 cores (2026-12-05, one run each).  "busy": a message goes to host 2
# every 0.5 s, as in a running job; "idle": nothing goes there after setup.
#
#   loss of host 2                 PvmHostDelete (and PvmTaskExit of its task)
#                                  to a task on the master, after the loss
#   pvmd SIGKILL, busy             182 s, 190 s (two runs)
#   link cut, busy                 190 s, 190 s
#   pvmd SIGKILL, idle             346 s
#   link cut, idle                 340 s
#   everything SIGKILLed, idle     306 s
#
# - The master notices only by its own time-out: "netoutput() timed out
#   sending to ADDR after 16..29, 181..197" (retries, s) in its log, counted
#   from the first packet that goes unanswered.  An idle host gets its first
#   packet only at the master's next keepalive (here 123-149 s after the
#   loss), hence the idle figures.  A killed pvmd is noticed no sooner than
#   a cut link (presumably the ICMP port unreachable that comes back is not
#   seen by the master's unconnected UDP socket; not checked with strace).  Issue 17's
#   186-189 s is the busy case; an idle host takes up to about 350 s.
# - PvmTaskExit for the tasks of the lost host comes in the same ms as the
#   PvmHostDelete, not before.
# - A task blocked in pvm_recv(tid, tag) from a task on the lost host stays
#   blocked: no error, no return, also after the notice (checked 5 s after).
#   Only a notify (or a time-out of its own) gets it out.
# - Until the master has deleted the lost host, a `pvm` console started then
#   hangs at its start (its pvm_setopt, TM_SETOPT, waits on the lost host):
#   no conf, no delete, no halt through the console in that window
#   (nshosts_stop SIGTERMs the master instead).
# - The tasks of a host whose pvmd is SIGKILLed end at their next PVM call
#   (the call fails: the pvmd's socket is closed); a cut-off host's pvmd and
#   tasks keep running: its pvmd still ran 195 s after the cut (busy), or
#   exited by itself after 235 s (idle).
# - Added back: once the master has deleted it, a host made again at the same
#   address (nshosts_remove_host, nshosts_add_host) joins with `add` and runs
#   tasks, after each kind of loss.  (A host made again needs the MAC it had,
#   or the others' stale ARP entries keep it unreachable for seconds.)
