#!/bin/sh
# no_pvm.sh CKPT_INFO 'OBJ;OBJ...': the format library and ckpt-info stay free of
# PVM (DESIGN.md, layers).  libpvm3 is a static archive here, so ldd alone would
# never see it: the symbols tell.  ckpt-info has no pvm_ symbol and no libpvm3;
# the format library's objects (ckptfmt) call nothing of PVM's nor of the
# runtime's (ckpt__say, ckpt__rt...): what they leave undefined is libc's and zlib's.
set -u
INFO=$1 OBJS=$2
fail() { echo "FAIL: $*"; exit 1; }

ldd "$INFO" >/dev/null 2>&1 || fail "ldd $INFO"
! ldd "$INFO" | grep -i pvm || fail "ckpt-info is linked with libpvm3"
nm "$INFO" >/dev/null || fail "nm $INFO"
! nm "$INFO" | grep -E ' (pvm_|pvmd?[A-Z_])' || fail "ckpt-info holds PVM symbols"

n=0
IFS=';'
for o in $OBJS; do
    nm -u "$o" >/dev/null || fail "nm -u $o"
    ! nm -u "$o" | grep -E ' (pvm|ckpt__)' || fail "$o calls PVM or the runtime"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no object of the format library given"
echo "PASS no_pvm: ckpt-info and $n format objects"
