#!/bin/sh
# files_diag.sh CKPT-CC SOURCE: files/unkept.c, built with ckpt-cc, stopped at its
# first safe point with a pipe, a socket, a popen stream and a file mapping open
# (CKPT_STOP_AT=1): the checkpoint must name each of them as not restored, once per
# fd; the restarted task (CKPT_RESTART=1) must get EBADF from the pipe's fds, never
# data, and still have the file it had open.
set -u
CKPTCC=$1 SRC=$2
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
[ "$(grep -c 'is a pipe' err1)" = 2 ] || fail "the pipe's two fds are not said once each"
grep -q "map $T/kept.txt: the mapping is not restored after a restart" err1 || fail "the mapping is not said"
grep -q "kept.txt" err1 && ! grep -q "map .*kept.txt" err1 && fail "the file is said not restored"
CKPT_DIR=d CKPT_RESTART=1 ./prog >> out 2> err2; rc=$?
[ $rc = 0 ] || { cat err2; fail "the restart exits $rc"; }
grep -q "round 0: pipe read -1 (Bad file descriptor)" out || fail "a read of the pipe after the restart is not EBADF"
grep -q "round 0: pipe write -1 (Bad file descriptor)" out || fail "a write to the pipe after the restart is not EBADF"
grep -q "round 1: pipe read -1 (Bad file descriptor)" out || fail "round 1 read the pipe"
grep -q "^file: kept$" out || fail "the file open at the checkpoint is not there after the restart"
echo "ok   files_diag: the pipe, socket, popen stream and mapping said; EBADF after the restart"
