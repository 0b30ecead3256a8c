#!/bin/sh
# install_test.sh BUILD_DIR SOURCE: `cmake --install` into a temporary prefix, then the
# installed ckpt-cc (with none of the build tree in reach: it finds its header and
# library from its own location) builds SOURCE, which must checkpoint and resume.
set -eu
build=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in bin/ckpt-cc bin/ckpt-run bin/ckpt-info bin/ckpt-ctl include/ckpt.h include/ckpt_pvm.h include/ckpt_pvm_calls.h include/ckpt_libc.h include/ckpt_libc_calls.h include/ckpt_pvm_renames.h; do
    [ -e "$work/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
ls "$work"/prefix/lib*/libckpt.a >/dev/null || { echo "FAIL: libckpt.a not installed"; exit 1; }
cd "$work"
cc -O1 -o plain "$src"
env -u CKPT_INCLUDE_DIR -u CKPT_LIB_DIR "$work/prefix/bin/ckpt-cc" -O1 -o inst "$src"
./plain >expected
rc=0
CKPT_DIR="$work/ck" CKPT_STOP_AT=3 ./inst >out || rc=$?
[ "$rc" = 75 ] || { echo "FAIL: the installed build did not stop at safe point 3 (exit $rc)"; exit 1; }
CKPT_DIR="$work/ck" CKPT_RESTART=1 ./inst >>out
"$work/prefix/bin/ckpt-info" --verify "$work/ck" >/dev/null || { echo "FAIL: ckpt-info --verify"; exit 1; }
cmp expected out || { echo "FAIL: resumed output differs"; diff expected out | head; exit 1; }
echo "1 passed, 0 failed"
