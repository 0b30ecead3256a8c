#!/bin/sh
# restore_test.sh CKPT-CC [--cflags "FLAGS"] [--between "CMD"] SOURCE...
#
# Builds SOURCE... twice: with the real compiler (cc, or $CKPT_CC: the pragmas are
# ignored) for the expected output, and with ckpt-cc.  Then, with libckpt's
# standalone test mode (no PVM needed), for n = 1, 2, ... :
#
#     CKPT_DIR=d CKPT_STOP_AT=n ./prog  > out     # checkpoint at the n-th safe point, exit 75
#     CKPT_DIR=d CKPT_RESTART=1 ./prog >> out     # resume from it
#
# and out must equal the plain program's output.  The loop ends at the first n the
# program does not reach (it exits 0 without stopping); at least one stop is required.
# Every run is in a fresh temporary folder, the current one, where the program may
# keep files; --between runs CMD there (sh -c) after each stop, before the restart:
# what the stopped task might have done after its checkpoint.
set -u
CKPTCC=$1; shift
CFLAGS=""
BETWEEN=""
if [ "${1:-}" = --cflags ]; then CFLAGS=$2; shift 2; fi
if [ "${1:-}" = --between ]; then BETWEEN=$2; shift 2; fi
REAL=${CKPT_CC:-cc}
MAX=${RESTORE_MAX_STOPS:-200}
T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-restore.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
name=$(basename "$1" .c)

# shellcheck disable=SC2086
$REAL $CFLAGS -w "$@" -o "$T/plain" || { echo "FAIL $name: cc cannot build it"; exit 1; }
# shellcheck disable=SC2086
"$CKPTCC" $CFLAGS -Wno-ckpt-unsaved "$@" -o "$T/inst" 2> "$T/cc.err" ||
    { echo "FAIL $name: ckpt-cc cannot build it:"; cat "$T/cc.err"; exit 1; }
cd "$T" || exit 1
"$T/plain" > "$T/expected" 2>&1; prc=$?

# no checkpoint at all: same output and status
CKPT_DIR="$T/none" "$T/inst" > "$T/out" 2>&1; rc=$?
if [ $rc != $prc ] || ! cmp -s "$T/expected" "$T/out"; then
    echo "FAIL $name: without checkpoints it exits $rc (cc's: $prc) and prints:"
    diff "$T/expected" "$T/out" | head -20
    exit 1
fi

n=1; stops=0
while [ $n -le "$MAX" ]; do
    d="$T/ck$n"; mkdir -p "$d"
    CKPT_DIR=$d CKPT_STOP_AT=$n "$T/inst" > "$T/out" 2> "$T/err1"; rc=$?
    if [ $rc = $prc ] && cmp -s "$T/expected" "$T/out"; then
        break   # finished before the n-th safe point
    fi
    if [ $rc != 75 ]; then
        echo "FAIL $name: CKPT_STOP_AT=$n exits $rc, expected 75"; cat "$T/err1" | head -20; exit 1
    fi
    if [ -n "$BETWEEN" ]; then sh -c "$BETWEEN" || { echo "FAIL $name: --between failed"; exit 1; }; fi
    CKPT_DIR=$d CKPT_RESTART=1 "$T/inst" >> "$T/out" 2> "$T/err2"; rc=$?
    if [ $rc != $prc ] || ! cmp -s "$T/expected" "$T/out"; then
        echo "FAIL $name: stop at safe point $n, restart exits $rc (expected $prc); output diff:"
        diff "$T/expected" "$T/out" | head -20
        head -20 "$T/err2"
        exit 1
    fi
    stops=$((stops + 1))
    rm -rf "$d"
    n=$((n + 1))
done
if [ $stops = 0 ]; then echo "FAIL $name: no safe point reached"; exit 1; fi
echo "ok   $name: restarted correctly from each of $stops safe points"
