#!/bin/sh
# golden_test.sh CKPT-CC SOURCE.c
# The rewritten source ckpt-cc keeps (--ckpt-keep=DIR) must equal SOURCE.ckpt.c.
# After an intended change of the emitted code, regenerate the file with
#   ckpt-cc --ckpt-keep=DIR -c SOURCE.c -o /dev/null... (see below) and review the diff.
set -u
CKPTCC=$1
SRC=$2
name=$(basename "$SRC" .c)
T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-golden.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
cp "$SRC" "$T/$name.c"
(cd "$T" && mkdir keep && "$CKPTCC" --ckpt-keep=keep -c "$name.c" -o "$name.o") || { echo "FAIL $name: ckpt-cc failed"; exit 1; }
if ! cmp -s "${SRC%.c}.ckpt.c" "$T/keep/$name.ckpt.c"; then
    echo "FAIL $name: emitted code differs from ${SRC%.c}.ckpt.c:"
    diff "${SRC%.c}.ckpt.c" "$T/keep/$name.ckpt.c"
    exit 1
fi
echo "ok   $name: emitted code as expected"
