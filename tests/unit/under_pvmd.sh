#!/usr/bin/env bash
# under_pvmd.sh PROGRAM [ARGS...]: runs a unit test program that calls libpvm3
# under a private pvmd of its own; without one, libpvm3 looks for a pvmd at
# every call and says so.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/pvmvm.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/under_pvmd.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'
pvmvm_start --wd "$work"
"$@"
