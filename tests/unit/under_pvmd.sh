#!/usr/bin/env bash
# test_pvmbuf.sh TEST_PVMBUF: runs test_pvmbuf as a task of a private pvmd of
# its own; without one, libpvm3 looks for a pvmd at every call and says so.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/pvmvm.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/test_pvmbuf.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
pvmvm_start --wd "$work"
"$1"
