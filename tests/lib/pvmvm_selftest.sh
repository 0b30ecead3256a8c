#!/usr/bin/env bash
# Self-test of tests/lib/pvmvm.sh: 20 start/stop cycles leave no daemon and no
# folder behind; spawn finds executables through --ep and runs them in --wd;
# two machines at once do not see each other; a test that fails or is killed
# still cleans up; --hosts adds a second host that goes away with the machine.
set -eEuo pipefail
trap 'echo "selftest: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/pvmvm.sh
# shellcheck source=pvmvm.sh
. "$lib"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT          # until pvmvm_start puts its own EXIT trap in place,
pvmvm_at_exit 'rm -rf "$work"'      # which runs this
fail() { echo "FAIL: $*" >&2; exit 1; }
gone() { ! pvmvm_alive "$1"; }

# ---- helper programs: a parent that spawns "pvmvm_child" and prints what it says
mkdir -p "$work/bin" "$work/wd"
cat >"$work/parent.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>
int main(int argc, char **argv)
{
    int tid, v;
    char cwd[4096];
    int hold = argc > 1 ? atoi(argv[1]) : 0;
    if (pvm_mytid() < 0) return 2;
    if (pvm_spawn("pvmvm_child", hold ? argv + 1 : NULL, PvmTaskDefault, "", 1, &tid) != 1) {
        printf("spawn failed %d\n", tid);
        pvm_exit();
        return 1;
    }
    pvm_recv(tid, 7);
    pvm_upkint(&v, 1, 1);
    pvm_upkstr(cwd);
    printf("child says %d in %s\n", v, cwd);
    pvm_exit();
    return 0;
}
C
cat >"$work/child.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pvm3.h>
int main(int argc, char **argv)
{
    int v = 42;
    char cwd[4096];
    pvm_mytid();
    if (!getcwd(cwd, sizeof cwd)) return 1;
    printf("child output line\n");
    fflush(stdout);
    if (argc > 1) sleep(atoi(argv[1]));
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&v, 1, 1);
    pvm_pkstr(cwd);
    pvm_send(pvm_parent(), 7);
    pvm_exit();
    return 0;
}
C
cc -O "$work/parent.c" -o "$work/bin/pvmvm_parent" -lpvm3
cc -O "$work/child.c" -o "$work/bin/pvmvm_child" -lpvm3

# ---- 1: 20 cycles
pids=() dirs=()
for i in $(seq 1 20); do
    pvmvm_start --ep "$work/bin" --wd "$work/wd"
    [[ -S $PVMVM_SOCK ]] || fail "cycle $i: no socket"
    pvmvm_alive "$PVMVM_PID" || fail "cycle $i: pvmd not alive"
    pids+=("$PVMVM_PID") dirs+=("$PVMVM_TMP")
    if ((i == 1 || i == 20)); then
        out=$(pvmvm_run 20 "$work/bin/pvmvm_parent")
        [[ $out == "child says 42 in $work/wd" ]] || fail "cycle $i: spawn: '$out'"
        pvmvm_wait_idle 5 || fail "cycle $i: tasks still running"
        tid=$(grep -o '\[t[0-9a-f]*\] child output line' "$PVMVM_LOG" | grep -o 't[0-9a-f]*' | head -n1)
        [[ $(pvmvm_output "$tid") == "child output line" ]] || fail "cycle $i: pvmvm_output $tid"
    fi
    p=$PVMVM_PID d=$PVMVM_TMP
    pvmvm_stop
    gone "$p" || fail "cycle $i: pvmd $p still alive after stop"
    [[ ! -e $d ]] || fail "cycle $i: $d left behind"
done
for p in "${pids[@]}"; do gone "$p" || fail "pvmd $p alive"; done
for d in "${dirs[@]}"; do [[ ! -e $d ]] || fail "$d left"; done
echo "ok 1 - 20 start/stop cycles, no pvmd and no folder left"

# ---- 2: pvmvm_tasks shows pids of running tasks; stop kills the tasks
pvmvm_start --ep "$work/bin" --wd "$work/wd"
"$work/bin/pvmvm_parent" 30 >"$work/p.out" &
ppid_=$!
for _ in $(seq 1 100); do
    tasks=$(pvmvm_tasks)
    grep -q ' pvmvm_child$' <<<"$tasks" && break
    sleep 0.05
done
cpid=$(awk '$3 == "pvmvm_child" { print $2 }' <<<"$tasks")
[[ -n $cpid ]] || fail "pvmvm_tasks did not list the child: $tasks"
pvmvm_alive "$cpid" || fail "child pid $cpid from pvmvm_tasks not alive"
p=$PVMVM_PID
pvmvm_stop
gone "$p" || fail "pvmd alive"
for _ in $(seq 1 100); do gone "$cpid" && gone "$ppid_" && break; sleep 0.05; done
gone "$cpid" || fail "task $cpid survived halt"
gone "$ppid_" || fail "root task $ppid_ survived halt"
wait "$ppid_" 2>/dev/null || true
echo "ok 2 - pvmvm_tasks lists pids; stop ends the tasks"

# ---- 3: two machines at once (two processes) do not interfere
instance() {
    # $1 = name; A stops early, B keeps working after A's halt
    . "$lib"
    pvmvm_start --ep "$work/bin" --wd "$work/wd"
    echo "$PVMVM_PID $PVMVM_TMP $PVM_VMID" >"$work/$1.info"
    out=$(pvmvm_run 20 "$work/bin/pvmvm_parent" 1)
    [[ $out == "child says 42 in $work/wd" ]] || { echo "$1: '$out'"; exit 1; }
    n=$(pvmvm_console conf | grep -c ' LINUX64 ' || true)
    [[ $n == 1 ]] || { echo "$1: $n hosts"; exit 1; }
    if [[ $1 == B ]]; then
        sleep 1.5   # A halts meanwhile
        out=$(pvmvm_run 20 "$work/bin/pvmvm_parent")
        [[ $out == "child says 42 in $work/wd" ]] || { echo "B after A: '$out'"; exit 1; }
    fi
    exit 0
}
(instance A) & a=$!
(instance B) & b=$!
wait "$a" || fail "instance A failed"
wait "$b" || fail "instance B failed"
read -r pa da va <"$work/A.info"
read -r pb db vb <"$work/B.info"
[[ $va != "$vb" && $da != "$db" ]] || fail "instances shared a vmid or folder"
gone "$pa" && gone "$pb" || fail "an instance's pvmd survived"
[[ ! -e $da && ! -e $db ]] || fail "an instance's folder survived"
echo "ok 3 - two machines at once"

# ---- 4: a failing test (set -e), a killed test: cleanup still happens
bash -c '. "$1"; set -e; pvmvm_start; echo "$PVMVM_PID $PVMVM_TMP" >"$2"; false; echo unreachable' \
    _ "$lib" "$work/f.info" && fail "failing test returned 0"
read -r pf df <"$work/f.info"
gone "$pf" || fail "pvmd of failed test alive"
[[ ! -e $df ]] || fail "folder of failed test left"
bash -c '. "$1"; pvmvm_start; echo "$PVMVM_PID $PVMVM_TMP" >"$2"; sleep 60 </dev/null >/dev/null 2>&1 & pvmvm_at_exit "kill $!"; wait' \
    _ "$lib" "$work/k.info" & k=$!
for _ in $(seq 1 200); do [[ -s $work/k.info ]] && break; sleep 0.05; done
kill -TERM "$k"
wait "$k" || true
read -r pk dk <"$work/k.info"
gone "$pk" || fail "pvmd of killed test alive"
[[ ! -e $dk ]] || fail "folder of killed test left"
bash -c '. "$1"; pvmvm_start; echo "$PVMVM_PID $PVMVM_TMP" >"$2"; exec sleep 60' \
    _ "$lib" "$work/x.info" </dev/null >/dev/null 2>&1 & x=$!
for _ in $(seq 1 200); do [[ -s $work/x.info ]] && break; sleep 0.05; done
kill -KILL "$x"
wait "$x" 2>/dev/null || true
read -r px dx <"$work/x.info"
for _ in $(seq 1 100); do gone "$px" && [[ ! -e $dx ]] && break; sleep 0.1; done
gone "$px" || fail "pvmd of a SIGKILLed test alive after 10 s"
[[ ! -e $dx ]] || fail "folder of a SIGKILLed test left"
out=$(bash -c '. "$1"; pvmvm_start; pvmvm_run 1 sleep 5' _ "$lib" 2>&1) && fail "timeout not reported"
grep -q 'timed out after 1s: sleep 5' <<<"$out" || fail "timeout message: $out"
mkdir -p "$work/a b"
bash -c '. "$1"; pvmvm_start --wd "$2"' _ "$lib" "$work/a b" 2>"$work/ab.err" && fail "a blank in --wd was accepted"
grep -q 'cannot hold blanks' "$work/ab.err" || fail "blank in --wd: $(cat "$work/ab.err")"
echo "ok 4 - failing, killed (TERM, KILL) and timed-out tests clean up; bad paths refused"

# ---- 5: --hosts: a second host (a second pvmd on this computer) joins the
# machine, runs tasks, and goes away with the machine, also when the test is
# SIGKILLed (the watchdog)
pvmvm_start --hosts --ep "$work/bin" --wd "$work/wd"
pvmvm_add_host 127.0.0.2
n=$(pvmvm_console conf | grep -c ' LINUX64 ' || true)
[[ $n == 2 ]] || fail "--hosts: $n hosts after pvmvm_add_host"
hp=$(pvmvm_host_pid 127.0.0.2)
pvmvm_alive "$hp" || fail "--hosts: no pvmd pid for 127.0.0.2"
# PvmTaskDefault goes round the hosts: two runs, one of them on 127.0.0.2
for _ in 1 2; do
    out=$(pvmvm_run 20 "$work/bin/pvmvm_parent")
    [[ $out == "child says 42 in $work/wd" ]] || fail "--hosts: spawn: '$out'"
done
# (the second host's tasks are t8xxxx; their output reaches the master's log)
grep -q '\[t8[0-9a-f]\{4\}\] child output line' "$PVMVM_LOG" || fail "--hosts: no child ran on 127.0.0.2"
p=$PVMVM_PID d=$PVMVM_TMP
pvmvm_stop
gone "$p" && gone "$hp" || fail "--hosts: a pvmd survived stop"
[[ ! -e $d ]] || fail "--hosts: $d left"
bash -c '. "$1"; pvmvm_start --hosts; pvmvm_add_host 127.0.0.2;
         echo "$PVMVM_PID $(pvmvm_host_pid 127.0.0.2) $PVMVM_TMP" >"$2"; exec sleep 60' \
    _ "$lib" "$work/h.info" </dev/null >/dev/null 2>&1 & x=$!
for _ in $(seq 1 200); do [[ -s $work/h.info ]] && break; sleep 0.05; done
kill -KILL "$x"
wait "$x" 2>/dev/null || true
read -r px hx dx <"$work/h.info"
for _ in $(seq 1 150); do gone "$px" && gone "$hx" && [[ ! -e $dx ]] && break; sleep 0.1; done
gone "$px" && gone "$hx" || fail "--hosts: a pvmd of a SIGKILLed test alive after 15 s"
[[ ! -e $dx ]] || fail "--hosts: folder of a SIGKILLed test left"
echo "ok 5 - --hosts: a second host joins, runs tasks, and goes with the machine"
echo PASS
