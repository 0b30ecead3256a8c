# shellcheck shell=bash
# pvmvm.sh: give one test its own private PVM virtual machine.
#
# Source it from a bash test, then:
#
#   pvmvm_start [--ep DIR]... [--wd DIR] [--hosts] [--timeout SECONDS] [--no-pvmd]
#       Starts a private pvmd and waits until it is ready.  Exports PVM_ROOT,
#       PVM_ALLOW_ROOT=1, PVM_VMID (unique: ckpt-test-<pid>-<random>) and PVM_TMP
#       (a fresh `mktemp -d` folder holding the daemon's socket, address file and
#       log), so every pvm_* call and `pvm` console of this test talks to this
#       daemon only.  Installs an EXIT trap that runs pvmvm_stop, so a failing
#       test still cleans up.  Call it in the test's own shell, never inside
#       $( ... ) or a pipeline: the daemon must be a child of that shell.
#         --ep DIR   where pvm_spawn("name", ...) looks for executables; repeat
#                    for several folders (searched in order).  Default: PVM's
#                    own, $HOME/pvm3/bin/$PVM_ARCH:$PVM_ROOT/bin/$PVM_ARCH.
#         --wd DIR   working directory of spawned tasks.  Default: $PWD.
#       Both are given to the daemon as a host file line `* ep=... wd=...`
#       (man 1PVM pvmd3: `*` sets the options of every host, the master
#       included), which nothing in the environment can override.
#       A name with a '/' in it (pvm_spawn("/abs/prog", ...)) is run as given.
#         --hosts    let the machine grow more hosts with pvmvm_add_host, all
#                    on this computer.  PVM adds no host to a master whose
#                    address is 127.0.0.1 (what this computer's name resolves
#                    to), so the master pvmd is named 127.0.0.254 (pvmd
#                    -n): all of 127/8 is this computer's loopback.
#         --master NAME  (with --hosts) name the master NAME instead:
#                    an address of this computer that the other hosts reach
#                    (tests/lib/nshosts.sh: the master's address on its bridge)
#         --netns NS the master pvmd runs in network namespace NS (through
#                    `ip netns exec`, which execs: PVMVM_PID is the pvmd's).
#                    Tasks of this test that are not in NS still reach it:
#                    a task talks with its pvmd through a Unix socket in
#                    PVM_TMP, a file, which no network namespace hides.
#         --no-pvmd  everything but the master pvmd (the environment, PVM_TMP,
#                    the rsh stand-in, the clean-up): for a test whose program
#                    starts the machine itself (ckpt-run --hostfile);
#                    PVMVM_PID stays empty, pvmvm_stop removes PVM_TMP.
#       Spawned tasks get the daemon's environment: the test's, as it was when
#       pvmvm_start ran (export what tasks need before calling it).
#
#   pvmvm_stop
#       Halts the daemon (console `halt`: kills every task of this machine),
#       falls back to SIGTERM then SIGKILL of the recorded pid, waits (bounded)
#       until that pid is gone, removes PVM_TMP.  Idempotent.  Should the test
#       shell die without running its EXIT trap (SIGKILL, `exec`), a watchdog
#       started by pvmvm_start does the same within about 2 s.
#
#   pvmvm_add_host ADDR
#       (after pvmvm_start --hosts) Adds a host to the machine: ADDR is a
#       loopback address other than 127.0.0.1 and 127.0.0.254, such as
#       127.0.0.2.  PVM starts a slave pvmd through $PVM_RSH, here a script
#       in PVM_TMP that ignores the host name and starts that pvmd on this
#       computer with a PVM_TMP of its own, $PVMVM_TMP/host.ADDR (a pvmd's
#       socket and address file are named after the uid and vmid only, so two
#       pvmds of one machine cannot share a folder).  Tasks it starts inherit
#       that PVM_TMP, and the host file's `*` options (ep=, wd=).  A slave
#       pvmd goes away with the master's halt; pvmvm_stop makes sure.
#       If the file $PVMVM_TMP/host.ADDR/netns names a network namespace,
#       the slave pvmd runs in it (`ip netns exec`; tests/lib/nshosts.sh),
#       and if host.ADDR/bind holds "FROM TO", with folder FROM mounted at
#       TO for it and its tasks only.
#   pvmvm_host_pid ADDR        the pid of host ADDR's pvmd (a slave forks after
#                              startup: it is found under /proc, by its command
#                              line and its PVM_TMP); nothing if none runs
#
#   pvmvm_run SECONDS CMD [ARGS...]
#       Runs CMD with a timeout; on timeout fails the test with a message.
#       Otherwise returns CMD's exit status.
#   pvmvm_fail MESSAGE...      print "FAIL: MESSAGE" (plus the pvmd log) and exit 1
#   pvmvm_console CMD...       run `pvm` console commands (one per argument)
#                              against this machine, with a timeout; prints output
#   pvmvm_tasks                one line per task: "TID PID COMMAND", tids in hex
#                              as the console prints them (from `ps -al`)
#   pvmvm_wait_idle SECONDS    wait until no task runs on this machine; false on timeout
#   pvmvm_alive PID            true while process PID exists and is not a zombie
#   pvmvm_state PID            its state letter from /proc (R, S, T, Z...);
#                              nothing once it is gone
#   pvmvm_output TID           what task TID (hex, as in the log: 40006 or t40006)
#                              printed, from the daemon log, prefixes stripped
#   pvmvm_at_exit CMD          also run CMD (a string, eval'ed) at exit, before
#                              the daemon stops; use instead of your own EXIT trap
#   pvmvm_at_watchdog CMD      (before pvmvm_start) should the test shell die
#                              without its EXIT trap, the watchdog runs CMD
#                              after stopping the pvmds, before removing PVM_TMP
#
# Variables set for the test: PVMVM_PID (the daemon's pid), PVMVM_TMP (= PVM_TMP),
# PVMVM_LOG (the daemon's log: output of spawned tasks lands there, each line
# prefixed "[t80040000] date time [tTID] "), PVMVM_SOCK (the daemon's socket),
# PVMVM_MASTER (with --hosts: the master's host name, 127.0.0.254).
#
# Every function is safe under `set -euo pipefail`.
#
# Knobs: PVMVM_KEEP_LOG (a file: the daemon log is copied there by pvmvm_stop),
# PVMVM_PVMD (daemon binary, default `pvmd` on PATH else
# /usr/lib/pvm3/lib/pvmd), PVMVM_START_TIMEOUT (default 10 s),
# PVMVM_STOP_TIMEOUT (default 10 s).

: "${PVMVM_START_TIMEOUT:=10}"
: "${PVMVM_STOP_TIMEOUT:=10}"

PVMVM_PID=
PVMVM_TMP=
PVMVM_LOG=
PVMVM_SOCK=
PVMVM_MASTER=
PVMVM__WATCH=
PVMVM__AT_EXIT=()
PVMVM__AT_WATCHDOG=()

pvmvm__err() { printf 'pvmvm: %s\n' "$*" >&2; }

pvmvm_alive() {
    local pid=$1 state
    [[ -n $pid ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state=$(pvmvm_state "$pid")
    [[ $state != Z && -n $state ]]
}

pvmvm_state() {
    awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[1] }' "/proc/$1/stat" 2>/dev/null || true
}

# pvmvm__wait_gone PID SECONDS: true once PID is gone, false on timeout.
pvmvm__wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while pvmvm_alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
    # reap it if it is our child, so no zombie stays behind
    wait "$pid" 2>/dev/null || true
    return 0
}

pvmvm_at_exit() { PVMVM__AT_EXIT+=("$1"); trap pvmvm__on_exit EXIT; }   # (before pvmvm_start too)
pvmvm_at_watchdog() { PVMVM__AT_WATCHDOG+=("$1"); }

# pvmvm__slave_pids DIR: pids of slave pvmds whose PVM_TMP is DIR (the tasks
# they start inherit that PVM_TMP too, hence the command line test).
pvmvm__slave_pids() {
    local p dir=$1
    for p in /proc/[0-9]*; do
        [[ $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") == *pvmd\ -s\ * ]] || continue
        tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "PVM_TMP=$dir" && echo "${p#/proc/}"
    done
    return 0
}

# pvmvm__stop_slaves TMP: ends the slave pvmds started under TMP/host.*,
# should the master's halt not have taken them down.
pvmvm__stop_slaves() {
    local d pid
    for d in "$1"/host.*; do
        [[ -d $d ]] || continue
        for pid in $(pvmvm__slave_pids "$d"); do
            pvmvm__wait_gone "$pid" 3 && continue
            pvmvm__err "slave pvmd $pid ($d) outlived the halt; sending SIGTERM"
            kill -TERM "$pid" 2>/dev/null || true
            pvmvm__wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null || true
        done
    done
    return 0
}

pvmvm__on_exit() {
    local rc=$? cmd
    for cmd in "${PVMVM__AT_EXIT[@]}"; do
        eval "$cmd" || true
    done
    pvmvm_stop
    exit "$rc"
}

pvmvm_start() {
    local ep='' wd=$PWD pvmd hostfile deadline uid hosts=0 master=127.0.0.254 start=1
    local -a pvmdargs=() netns=()
    while (($#)); do
        case $1 in
        --ep) ep=${ep:+$ep:}$(cd "$2" && pwd) || return 1; shift 2 ;;
        --ep=*) ep=${ep:+$ep:}$(cd "${1#--ep=}" && pwd) || return 1; shift ;;
        --wd) wd=$(cd "$2" && pwd) || return 1; shift 2 ;;
        --wd=*) wd=$(cd "${1#--wd=}" && pwd) || return 1; shift ;;
        --hosts) hosts=1; shift ;;
        --master) master=$2; shift 2 ;;
        --netns) netns=(ip netns exec "$2"); shift 2 ;;
        --timeout) PVMVM_START_TIMEOUT=$2; shift 2 ;;
        --no-pvmd) start=0; shift ;;
        *) pvmvm__err "pvmvm_start: unknown option '$1'"; return 2 ;;
        esac
    done
    if [[ -n $PVMVM_PID ]]; then
        pvmvm__err "pvmvm_start: a pvmd is already running for this test (pid $PVMVM_PID)"
        return 1
    fi
    pvmd=${PVMVM_PVMD:-$(command -v pvmd || echo /usr/lib/pvm3/lib/pvmd)}
    [[ -x $pvmd ]] || { pvmvm__err "no pvmd executable ($pvmd)"; return 1; }

    export PVM_ROOT=${PVM_ROOT:-/usr/lib/pvm3}
    export PVM_ALLOW_ROOT=1
    export PVM_VMID="ckpt-test-$$-$RANDOM$RANDOM"
    PVMVM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pvmvm.XXXXXX") || return 1
    export PVM_TMP=$PVMVM_TMP
    uid=$(id -u)
    PVMVM_LOG=$PVM_TMP/pvml.$uid.$PVM_VMID
    trap pvmvm__on_exit EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    if [[ $ep$wd =~ [[:space:]\$] ]]; then
        pvmvm__err "pvmvm_start: --ep/--wd paths cannot hold blanks or '\$' (host file syntax)"
        pvmvm_stop
        return 1
    fi
    hostfile=$PVM_TMP/hostfile
    {
        echo "# written by tests/lib/pvmvm.sh"
        printf '*'
        [[ -n $ep ]] && printf ' ep=%s' "$ep"
        printf ' wd=%s\n' "$wd"
    } >"$hostfile"
    if ((hosts)); then
        # PVM starts a slave as `$PVM_RSH HOST [-l LOGIN] [-n] COMMAND`
        cat >"$PVM_TMP/rsh" <<'EOF'
#!/bin/sh
# PVM_RSH of tests/lib/pvmvm.sh: every host is this computer; run COMMAND
# here, with a PVM_TMP of its own under the master's, in the network
# namespace that file netns there names, if any.
host=$1
for arg; do cmd=$arg; done
dir=$PVM_TMP/host.$host
mkdir -p "$dir" || exit 1
export PVM_TMP="$dir"
if [ -s "$dir/netns" ]; then
    read -r ns <"$dir/netns"
    # a folder of its own at a shared path (ip netns exec gives the command
    # a mount namespace of its own, which tasks the pvmd starts share)
    if [ -s "$dir/bind" ]; then
        read -r from to <"$dir/bind"
        cmd="mount --bind '$from' '$to' && $cmd"
    fi
    exec ip netns exec "$ns" /bin/sh -c "$cmd"
fi
exec /bin/sh -c "$cmd"
EOF
        chmod +x "$PVM_TMP/rsh"
        export PVM_RSH=$PVM_TMP/rsh
        PVMVM_MASTER=$master
        pvmdargs=(-n"$PVMVM_MASTER")
    fi
    if ((!start)); then
        export PVMVM_TMP PVMVM_LOG PVMVM_MASTER
        pvmvm__start_watch
        return 0
    fi

    # The master pvmd of PVM 3.4 does not fork away: it stays our child, prints
    # its socket path on stdout once its sockets are set up, writes that path
    # into $PVM_TMP/pvmd.<uid>.<vmid>, and logs "ready" to $PVM_TMP/pvml.<uid>.<vmid>.
    "${netns[@]}" "$pvmd" "${pvmdargs[@]}" "$hostfile" >"$PVM_TMP/pvmd.out" 2>"$PVM_TMP/pvmd.err" </dev/null &
    PVMVM_PID=$!
    deadline=$((SECONDS + PVMVM_START_TIMEOUT))
    while :; do
        if ! pvmvm_alive "$PVMVM_PID"; then
            pvmvm__err "pvmd exited during startup:"
            cat "$PVM_TMP/pvmd.err" "$PVMVM_LOG" >&2 2>/dev/null || true
            PVMVM_PID=
            pvmvm_stop
            return 1
        fi
        # (the file may not exist yet: the shell creates it in the child)
        PVMVM_SOCK=$(head -n1 "$PVM_TMP/pvmd.out" 2>/dev/null || true)
        if [[ -n $PVMVM_SOCK && -S $PVMVM_SOCK && -s $PVM_TMP/pvmd.$uid.$PVM_VMID ]] &&
            grep -q ' ready ' "$PVMVM_LOG" 2>/dev/null; then
            break
        fi
        if ((SECONDS >= deadline)); then
            pvmvm__err "pvmd not ready after ${PVMVM_START_TIMEOUT}s"
            cat "$PVM_TMP/pvmd.err" "$PVMVM_LOG" >&2 2>/dev/null || true
            pvmvm_stop
            return 1
        fi
        sleep 0.02
    done
    # The socket name carries the pid of the daemon that made it: a check
    # that the pid we recorded is the daemon itself.
    if [[ $PVMVM_SOCK =~ pvmtmp0*([0-9]+)\. ]] && [[ ${BASH_REMATCH[1]} != "$PVMVM_PID" ]]; then
        pvmvm__err "warning: pvmd socket names pid ${BASH_REMATCH[1]}, recorded $PVMVM_PID; using the former"
        PVMVM_PID=${BASH_REMATCH[1]}
    fi
    export PVMVM_PID PVMVM_TMP PVMVM_LOG PVMVM_SOCK PVMVM_MASTER
    pvmvm__start_watch
    return 0
}

# A watchdog for when the EXIT trap cannot run: the test shell killed with
# SIGKILL, or replaced by `exec`.  It polls the shell that called pvmvm_start
# and, once that is gone, stops the daemon (after checking that the pid still
# is this daemon, not a reused one), runs the pvmvm_at_watchdog commands and
# removes PVM_TMP.  pvmvm_stop ends it.
pvmvm__start_watch() {
    local shell=$BASHPID pvmd=$PVMVM_PID tmp=$PVMVM_TMP
    (
        trap - EXIT
        trap '' INT TERM HUP
        is_ours() { grep -qF "$tmp/hostfile" "/proc/$pvmd/cmdline" 2>/dev/null; }
        # (with hooks it stays as long as the shell: a test may kill its pvmd)
        while pvmvm_alive "$shell" && { pvmvm_alive "$pvmd" || ((${#PVMVM__AT_WATCHDOG[@]})); }; do
            sleep 1
        done
        if pvmvm_alive "$pvmd" && is_ours; then
            kill -TERM "$pvmd" 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do pvmvm_alive "$pvmd" || break; sleep 0.2; done
            is_ours && kill -KILL "$pvmd" 2>/dev/null || true
        fi
        pvmvm__stop_slaves "$tmp"
        if ! pvmvm_alive "$shell"; then
            for cmd in "${PVMVM__AT_WATCHDOG[@]}"; do eval "$cmd" || true; done
            rm -rf "$tmp"
        fi
    ) </dev/null >/dev/null 2>&1 &
    PVMVM__WATCH=$!
}

pvmvm_stop() {
    local pid=$PVMVM_PID
    if [[ -n $PVMVM__WATCH ]]; then
        kill -KILL "$PVMVM__WATCH" 2>/dev/null || true
        wait "$PVMVM__WATCH" 2>/dev/null || true
        PVMVM__WATCH=
    fi
    if [[ -n $pid ]] && pvmvm_alive "$pid"; then
        # halt: the daemon kills every task of this machine, then itself.  The
        # console is killed by the halt too (exit status 143): expected.
        (echo halt | timeout -k 2 5 pvm) >/dev/null 2>&1 </dev/null || true
        if ! pvmvm__wait_gone "$pid" "$PVMVM_STOP_TIMEOUT"; then
            pvmvm__err "pvmd $pid ignored halt; sending SIGTERM"
            kill -TERM "$pid" 2>/dev/null || true
            if ! pvmvm__wait_gone "$pid" 5; then
                pvmvm__err "pvmd $pid ignored SIGTERM; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                pvmvm__wait_gone "$pid" 5 || pvmvm__err "pvmd $pid still alive"
            fi
        fi
    elif [[ -n $pid ]]; then
        wait "$pid" 2>/dev/null || true
    fi
    [[ -n $PVMVM_TMP ]] && pvmvm__stop_slaves "$PVMVM_TMP"
    PVMVM_PID=
    if [[ -n $PVMVM_TMP && -d $PVMVM_TMP ]]; then
        if [[ -n ${PVMVM_KEEP_LOG:-} && -f $PVMVM_LOG ]]; then
            cp "$PVMVM_LOG" "$PVMVM_KEEP_LOG" 2>/dev/null || true
        fi
        rm -rf "$PVMVM_TMP"
    fi
    PVMVM_TMP=
    PVMVM_SOCK=
    return 0
}

pvmvm_fail() {
    printf 'FAIL: %s\n' "$*" >&2
    if [[ -n $PVMVM_LOG && -s $PVMVM_LOG ]]; then
        echo "---- pvmd log ($PVMVM_LOG) ----" >&2
        tail -n 50 "$PVMVM_LOG" >&2
        echo "----" >&2
    fi
    exit 1
}

pvmvm_run() {
    local secs=$1 rc=0
    shift
    timeout -k 5 "$secs" "$@" || rc=$?
    if ((rc == 124 || rc == 137)); then
        pvmvm_fail "timed out after ${secs}s: $*"
    fi
    return "$rc"
}

pvmvm_console() {
    local c
    # a console finding no daemon would start one of its own: refuse
    pvmvm_alive "$PVMVM_PID" || { pvmvm__err "pvmvm_console: no pvmd running"; return 1; }
    for c in "$@"; do printf '%s\n' "$c"; done | timeout -k 2 10 pvm 2>&1
}

pvmvm_add_host() {
    local addr=$1 out deadline=$((SECONDS + 10))
    if [[ -z $PVMVM_MASTER ]]; then
        pvmvm__err "pvmvm_add_host: start the machine with pvmvm_start --hosts"
        return 1
    fi
    out=$(pvmvm_console "add $addr") || true
    if [[ $out != *"1 successful"* ]]; then
        pvmvm__err "pvmvm_add_host: cannot add $addr:"
        printf '%s\n' "$out" >&2
        return 1
    fi
    # its parent has returned, the pvmd it forked may not be up yet
    until [[ -n $(pvmvm_host_pid "$addr") ]]; do
        if ((SECONDS >= deadline)); then
            pvmvm__err "pvmvm_add_host: no pvmd of $addr found under /proc"
            return 1
        fi
        sleep 0.05
    done
}

pvmvm_host_pid() {
    pvmvm__slave_pids "$PVMVM_TMP/host.$1" | head -n 1
}

pvmvm_tasks() {
    pvmvm_console 'ps -al' | awk '
        $2 ~ /^[0-9a-fA-F]+$/ && $4 ~ /^[0-9]+$/ { print $2, $4, $NF }'
}

pvmvm_wait_idle() {
    local deadline=$((SECONDS + ${1:-10}))
    while [[ -n $(pvmvm_tasks) ]]; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

pvmvm_output() {
    local tid=${1#t}
    [[ -f $PVMVM_LOG ]] || return 1
    awk -v tag="[t$tid] " '{ i = index($0, tag); if (i > 1) print substr($0, i + length(tag)) }' "$PVMVM_LOG"
}
