#!/bin/sh
# diag_test.sh CKPT-CC DIAGDIR
#
# What ckpt-cc says about a source must be what cc (or $CKPT_CC) says, to the byte:
# file, line, column, caret lines and fix-it hints, whatever code ckpt-cc inserts.
# For each case of the table below, DIAGDIR/NAME.c is compiled by both in a fresh
# directory with the case's flags; their messages must be identical and both must
# succeed or both fail.  ckpt-cc's own -Wckpt-unsaved is off: it is not cc's.
set -u
CKPTCC=$1
SRC=$2
REAL=${CKPT_CC:-cc}
T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-diag.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
fails=0

# check NAME HOW FLAGS...: HOW is "file" (-c NAME.c) or "stdin" (-x c - < NAME.c)
check() {
    name=$1; how=$2; shift 2
    rm -rf "$T/w"; mkdir "$T/w"; cp "$SRC/$name.c" "$T/w/"
    for side in cc ckpt; do
        if [ $side = cc ]; then comp=$REAL; own=""; else comp=$CKPTCC; own=-Wno-ckpt-unsaved; fi
        # shellcheck disable=SC2086
        if [ "$how" = stdin ]; then
            (cd "$T/w" && $comp $own "$@" -c -x c - -o $side.o < "$name.c" 2> ../$side.err)
        else
            (cd "$T/w" && $comp $own "$@" -c "$name.c" -o $side.o 2> ../$side.err)
        fi
        echo $? > "$T/$side.rc"
    done
    why=""
    rc_cc=$(cat "$T/cc.rc"); rc_ck=$(cat "$T/ckpt.rc")
    if [ "$rc_cc" = 0 ] && [ "$rc_ck" != 0 ]; then why="ckpt-cc failed ($rc_ck) where cc did not"; fi
    if [ "$rc_cc" != 0 ] && [ "$rc_ck" = 0 ]; then why="ckpt-cc succeeded where cc failed"; fi
    if ! cmp -s "$T/cc.err" "$T/ckpt.err"; then why="${why:+$why; }messages differ"; fi
    if [ ! -s "$T/cc.err" ]; then why="${why:+$why; }cc says nothing: a useless case"; fi
    if [ -n "$why" ]; then
        echo "FAIL $name ($how $*): $why"
        diff "$T/cc.err" "$T/ckpt.err" | head -30
        fails=$((fails + 1))
    else
        echo "ok   $name ($how $*)"
    fi
}

check columns file -Wall -Wextra
check columns stdin -Wall -Wextra
check columns file -Wall -Werror
check no_include file -Wall
check no_include file -std=gnu89
check uninit file -O2 -Wall
check uninit file -O0 -Wall
check syntax file
check type_error file -Wall
[ $fails = 0 ]
