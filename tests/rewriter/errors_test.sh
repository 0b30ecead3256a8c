#!/bin/sh
# errors_test.sh CKPT-CC SOURCE.c
#
# Compiles SOURCE.c (copied into a fresh directory with SOURCE.h if there is one, so
# messages name just the file)
# with `ckpt-cc -c NAME.c -o NAME.o` and compares its messages with SOURCE.err, exactly.
# A last line `/* ckpt-cc: FLAGS */` adds FLAGS to that command.
# When SOURCE.err holds an error the command must fail and leave no NAME.o; otherwise
# it must succeed and write NAME.o.
set -u
CKPTCC=$1
SRC=$2
EXP=${SRC%.c}.err
name=$(basename "$SRC" .c)
T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-errors.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
cp "$SRC" "$T/$name.c"
# a header of the same name goes along (a case about functions defined in headers)
if [ -f "${SRC%.c}.h" ]; then cp "${SRC%.c}.h" "$T/"; fi
flags=$(tail -n 1 "$SRC" | sed -n 's|^/\* ckpt-cc: \(.*\) \*/$|\1|p')
# shellcheck disable=SC2086 # FLAGS are words
(cd "$T" && "$CKPTCC" $flags -c "$name.c" -o "$name.o" 2> "$name.stderr"); rc=$?
if ! cmp -s "$EXP" "$T/$name.stderr"; then
    echo "FAIL $name: messages differ (expected, got):"
    diff "$EXP" "$T/$name.stderr"
    exit 1
fi
if grep -q ': error: ' "$EXP"; then
    [ $rc != 0 ] || { echo "FAIL $name: exit status 0 despite the error"; exit 1; }
    [ ! -e "$T/$name.o" ] || { echo "FAIL $name: wrote $name.o despite the error"; exit 1; }
else
    [ $rc = 0 ] || { echo "FAIL $name: exit status $rc"; exit 1; }
    [ -e "$T/$name.o" ] || { echo "FAIL $name: no $name.o"; exit 1; }
fi
echo "ok   $name"
