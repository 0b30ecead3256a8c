#!/bin/sh
# files_diag.sh CKPT-CC SOURCE READER: SOURCE is files/unkept.c, built with ckpt-cc, stopped at its
# first safe point with two pipes (one under an fdopen stream), a socket, a popen stream and a file mapping open
# (CKPT_STOP_AT=1): the checkpoint must name each of them as not restored, once per
# fd; the restarted task (CKPT_RESTART=1) must get EBADF from the pipe's fds, never
# data, and still have the file it had open.  READER (restore/files_fgets.c), stopped
# at its 5th line, must refuse to restart, naming its input, when the input was cut
# shorter than what it had read, and when it was removed: never read wrong data.
set -u
CKPTCC=$1 SRC=$2 READER=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-filesdiag.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
fail() { echo "FAIL: $*"; echo "-- stderr at the checkpoint:"; cat "$T/err1"; echo "-- output:"; cat "$T/out"; exit 1; }
"$CKPTCC" -Wno-ckpt-unsaved "$SRC" -o "$T/prog" 2> "$T/cc.err" || { cat "$T/cc.err"; echo "FAIL: ckpt-cc"; exit 1; }
cd "$T" || exit 1
: > err1
CKPT_DIR=d CKPT_STOP_AT=1 ./prog > out 2> err1; rc=$?
[ $rc = 75 ] || fail "CKPT_STOP_AT=1 exits $rc, expected 75"
for what in "is a pipe (from pipe() in main)" "is a socket (from socket() in main)" \
            "is a popen() stream (from popen() in main)"; do
    grep -q "fd [0-9]* $what: it is not restored after a restart" err1 || fail "not said: fd ... $what"
done
[ "$(grep -c 'is a pipe' err1)" = 4 ] || fail "the pipes' four fds are not said once each"
grep -q "map $T/kept.txt: the mapping is not restored after a restart" err1 || fail "the mapping is not said"
grep -q "kept.txt" err1 && ! grep -q "map .*kept.txt" err1 && fail "the file is said not restored"
grep -q "'libname' holds a pointer into memory the C library allocated" err1 ||
    fail "a saved pointer to a block of the C library's malloc is not said"
[ "$(grep -c "'libname' holds" err1)" = 1 ] || fail "the pointer to libc's block is said more than once"
CKPT_DIR=d CKPT_RESTART=1 ./prog >> out 2> err2; rc=$?
[ $rc = 0 ] || { cat err2; fail "the restart exits $rc"; }
grep -q "round 0: pipe read -1 (Bad file descriptor)" out || fail "a read of the pipe after the restart is not EBADF"
grep -q "round 0: pipe write -1 (Bad file descriptor)" out || fail "a write to the pipe after the restart is not EBADF"
grep -q "round 1: pipe read -1 (Bad file descriptor)" out || fail "round 1 read the pipe"
grep -q "round 0: pipe stream fails (Bad file descriptor)" out ||
    fail "a stream on a pipe (fdopen) does not fail with EBADF after the restart"
grep -q "^pipe stream fclose" out || fail "fclose of the stream on a pipe after the restart"
grep -q "^file: kept$" out || fail "the file open at the checkpoint is not there after the restart"
"$CKPTCC" -Wno-ckpt-unsaved "$READER" -o "$T/reader" 2> "$T/cc.err" || { cat "$T/cc.err"; echo "FAIL: ckpt-cc"; exit 1; }
for change in "cut" "removed"; do
    rm -rf d2
    CKPT_DIR=d2 CKPT_STOP_AT=5 ./reader > out 2> err1; rc=$?
    [ $rc = 75 ] || fail "reader: CKPT_STOP_AT=5 exits $rc, expected 75"
    if [ $change = cut ]; then head -c 20 input.txt > short && mv short input.txt; else rm input.txt; fi
    CKPT_DIR=d2 CKPT_RESTART=1 ./reader > out 2> err2; rc=$?
    [ $rc = 70 ] || { cat err2; fail "reader restarted with its input $change: exit $rc, expected 70"; }
    [ ! -s out ] || fail "reader restarted with its input $change printed something"
    grep -q "cannot restart: $T/input.txt" err2 ||
        { cat err2; fail "reader restarted with its input $change: no message naming it"; }
done
echo "ok   files_diag: the pipe, socket, popen stream and mapping said; EBADF after the restart;" \
     "an input cut or removed refused"
