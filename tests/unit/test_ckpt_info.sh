#!/bin/sh
# test_ckpt_info.sh CKPT_INFO TEST_IMAGE CKPT_CC SOURCE: the ckpt-info command
# line on a fixture folder that `test_image fixture` writes (epochs 1 and 2
# committed, 2 tasks each, epoch 3 tentative): listing, one image, --verify
# (clean, then a flipped byte, a corrupt commit record, a missing image), --json
# parsed by python3, usage errors, exit codes.  Then --sections: on the image
# `test_image sections` writes (well-formed records of every section kind) and on
# the image of a real run of SOURCE built by CKPT_CC, stopped at a safe point.
set -u
INFO=$1
MKFIX=$2
CC_CKPT=$3
SRC=$4
T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-info-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
D=$T/ck
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS CMD...: runs CMD, output in $T/out, checks the exit status
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"; got=$?
    [ "$got" -eq "$want" ] || { cat "$T/out" "$T/err"; fail "$* exited $got, want $want"; }
}
has() { grep -q -- "$1" "$T/out" "$T/err" || { cat "$T/out" "$T/err"; fail "no '$1' in output"; }; }
json_ok() { python3 -m json.tool "$T/out" >/dev/null || { cat "$T/out"; fail "not JSON"; }; }

"$MKFIX" fixture "$D" || fail "fixture"

expect 0 "$INFO" --help;                      has "exit status"; has "--verify"
expect 2 "$INFO";                             has "usage"
expect 2 "$INFO" --bogus "$D";                has "usage"
expect 2 "$INFO" "$D" "$D"
expect 1 "$INFO" "$T/absent";                 has "No such file"

expect 0 "$INFO" "$D"
has "2 committed epochs"; has "epoch 2  committed"; has "epoch 1  committed"
has "0x00040002"; has "epoch.3: not committed: no commit record"
has "0x00040002 .* 10\.0\.0\.2 "       # the host each task ran on
[ "$(grep -n 'epoch 2' "$T/out" | cut -d: -f1)" -lt "$(grep -n 'epoch 1' "$T/out" | cut -d: -f1)" ] ||
    fail "not newest first"

IMG=$D/epoch.2/task.00040001.img
expect 0 "$INFO" "$IMG"
has "task     0x00040001"; has "epoch    2"; has "job      0000000000000000"; has "global  grid"; has " 2097152 "; has "log     log"

expect 0 "$INFO" --json "$IMG";               json_ok; has '"type_name": "global"'; has '"job": "0000000000000000"'
expect 0 "$INFO" --json "$D";                 json_ok; has '"uncommitted"'; has '"host": "10.0.0.1"'
expect 0 "$INFO" --verify "$D";               has "every image of every committed epoch verified"
expect 0 "$INFO" --verify --json "$D";        json_ok; has '"ok": true'
expect 0 "$INFO" --verify "$IMG";             has "ok, 5 sections verified"

# One epoch folder: its commit record and each image, verified.
expect 0 "$INFO" "$D/epoch.2";               has "epoch 2  committed"; has "task.00040002.img      ok"
expect 0 "$INFO" "$D/epoch.3";               has "not committed: no commit record"
expect 0 "$INFO" --json "$D/epoch.2";        json_ok; has '"committed": true'
expect 0 "$INFO" --json "$D/epoch.3";        json_ok; has '"committed": false'
expect 0 "$INFO" "$D/epoch.2/commit";        has "epoch 2  committed"

# A flipped byte in the middle of the grid's compressed data.
cp "$IMG" "$T/saved.img"
python3 - "$IMG" <<'EOF' || fail "flip"
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x08
open(p, 'wb').write(b)
EOF
expect 1 "$INFO" --verify "$D";               has "PROBLEM epoch 2: task.00040001.img: section 1 'grid'"
has "problems found"
expect 1 "$INFO" --verify --json "$D";        json_ok; has '"ok": false'
expect 1 "$INFO" "$IMG";                      has "task.00040001.img: section 1 'grid'"
expect 1 "$INFO" "$D/epoch.2";                has "bad: task.00040001.img: section 1 'grid'"
expect 1 "$INFO" --json "$D/epoch.2";         json_ok; has '"ok": false'
expect 1 "$INFO" --json "$IMG";               json_ok; has '"ok": false'
expect 0 "$INFO" "$D"                         # listing reads commit records only
cp "$T/saved.img" "$IMG"
expect 0 "$INFO" --verify "$D"

# A missing image of a committed epoch.
mv "$D/epoch.1/task.00040002.img" "$T/moved.img"
expect 1 "$INFO" --verify "$D";               has "task.00040002.img: cannot open"
mv "$T/moved.img" "$D/epoch.1/task.00040002.img"

# A corrupt commit record: the epoch is no longer committed, and --verify says why.
printf 'X' | dd of="$D/epoch.1/commit" bs=1 seek=20 conv=notrunc 2>/dev/null
expect 0 "$INFO" "$D";                        has "1 committed epoch"; has "epoch.1: not committed: epoch.1/commit: checksum mismatch"
expect 1 "$INFO" --verify "$D";               has "PROBLEM epoch.1: epoch.1/commit: checksum mismatch"

# A folder with no committed epoch holds nothing to restart from: --verify says so.
mkdir "$T/empty"
expect 0 "$INFO" "$T/empty";                  has "0 committed epochs"
expect 1 "$INFO" --verify "$T/empty";         has "no committed epoch"

# --sections: every section kind decoded.
expect 2 "$INFO" --sections "$D"
expect 2 "$INFO" -s "$D/epoch.2/commit"
expect 2 "$INFO" -s --json "$IMG"
expect 2 "$INFO" -s --verify "$IMG"
expect 0 "$INFO" -s "$IMG";                   has "task     0x00040001"; has "section 0: meta 'meta'"
has "    malformed, or state version"          # the fixture's meta is text, not a runtime's
"$MKFIX" sections "$T/s.img" || fail "sections fixture"
expect 0 "$INFO" --sections "$T/s.img"
has "state version [0-9]*  vtid 0x00040001  tid 0x00040007  parent 0xffffffff  epoch 4  safepoints 99"
has "context 3  contexts made 5"
has "peer 0x00040002  tid 0x00040008  instrumented 1  sibling 1  out_seq 12  marked_epoch 4  in_seq 7  acked 6"
has "handler 2  src -1  tag 77  context 3  fn 0x1234"
has "group 'workers'  instance 1"
has "notify task-exit  tag 66  context 3  on 0x00040003  count 0"
has "argv\[2\] 42"
has "var 1 'row'  block  registered 1  size 8  elem 4  count 2  at 0x0  block at 0xb10c"
has "section 7: block 'row'"; has "8 bytes: 07 00 00 00 08 00 00 00"
has "depth 0  site 2  0 variables"
has "section 2: heap 'arena'"; has "arena 0x200000000000-0x200000200000  mapped 2097152 bytes  in use 4160 bytes"
has "2 live blocks  4128 bytes (headers included)  of which not saved 1 (4096 bytes)"
has "1 free small block on 3 class lists  0 free large ranges  1 run of saved bytes follow"
has "section 3: heap 'blocks'"; has "32 bytes of live blocks"
has "section 8: files 'open'"
has "fd 3  file /data/input.txt  flags 0x8000  description 1  offset 150"
has "fd 4  file /data/out.txt  flags 0x8401  close-on-exec  description 2  offset 99  written, 99 bytes"
has "fd 5  pipe  flags 0x0  description 3  offset -1"
has "stream FILE at 0x200000000810  fd 3  mode \"r\"  position 21  in the heap arena"
has "stream FILE at 0x200000000c10  fd 4  mode \"a\"  position 99  at end  in the heap arena"
has "seq 12  to 0x00040002  tag 6  context 3  encoding 0  9 bytes"
has "from 0x00040002  tag 9  context 3  encoding 0  5 bytes"
has "notice task-exit  on 0x00040003  from 0x00040003  tag 66"
has "buffer 4 (active receive)  unpacked 2  received from 0x00040002 tag 9  encoding 0  4 bytes"

# --sections on the image of a real run (no PVM needed: a task alone).
mkdir "$T/real" && (cd "$T/real" && "$CC_CKPT" -O1 -o prog "$SRC" 2>/dev/null) || fail "ckpt-cc $SRC"
(cd "$T/real" && CKPT_DIR="$T/real/ck" CKPT_STOP_AT=3 ./prog >/dev/null); rc=$?
[ "$rc" -eq 75 ] || fail "the real run did not stop at safe point 3 (exit $rc)"
REAL=$(ls "$T"/real/ck/epoch.*/task.*.img | head -n 1)
expect 0 "$INFO" -s "$REAL"
has "state version [0-9]*  vtid 0x00000000"; has "argv\[0\] ./prog"
has "section 2: heap 'arena'"; has "[1-9][0-9]* live blocks"; has "frame '<globals>'"
has "files 'open'"
has "no files open"
has "block  registered 1"; has "frame 'walk'"; has "var 2 'k'  data"
! grep -q malformed "$T/out" || fail "a real image's section decoded as malformed"

echo "PASS ckpt-info"
