# shellcheck shell=bash
# jobtest.sh: what the scripted job tests share (tests/integration/failures.sh,
# hostdel.sh, plainpeer.sh).  Source it after pvmvm.sh, with `top` set to the
# repository.
#
#   jobtest_options ARGS...
#       takes --ckpt-cc, --ckpt-run and --ckpt-ctl PATH (default: the tools in
#       $top/build) into ckpt_cc, ckpt_run and ckpt_ctl; any other argument,
#       and all after it, is left in JOBTEST_ARGS
#   jobtest_build NAME SRC OPT PLAIN CKPT
#       a fresh folder $work (removed at exit) holding SRC built at -OOPT by cc
#       into $work/PLAIN and by ckpt-cc into $work/CKPT
#   jobtest_report NAME OK ERR
#       "ok - NAME", or "not ok - NAME" and the tail of ERR (commit lines left
#       out) and of the pvmd log; counts into passed / failed; then waits for
#       the machine to be idle before the next scenario

ckpt_cc=$top/build/instrument/ckpt-cc
ckpt_run=$top/build/tools/ckpt-run
ckpt_ctl=$top/build/tools/ckpt-ctl
JOBTEST_ARGS=()
passed=0 failed=0

jobtest_options() {
    while (($#)); do
        case $1 in
        --ckpt-cc) ckpt_cc=$2; shift 2 ;;
        --ckpt-run) ckpt_run=$2; shift 2 ;;
        --ckpt-ctl) ckpt_ctl=$2; shift 2 ;;
        *) break ;;
        esac
    done
    JOBTEST_ARGS=("$@")
}

jobtest_build() {
    local name=$1 src=$2 opt=$3
    work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
    pvmvm_at_exit 'rm -rf "$work"'
    cc -O"$opt" -o "$work/$4" "$src" -lpvm3
    "$ckpt_cc" -O"$opt" -Wno-ckpt-unsaved -o "$work/$5" "$src"
}

jobtest_report() {
    local name=$1 ok=$2 err=$3
    if ((ok)); then
        passed=$((passed + 1)); echo "ok - $name"
    else
        failed=$((failed + 1)); echo "not ok - $name"; grep -v committed "$err" | tail -n 15 || true
        echo "# (pvmd log:)"; grep -v 'committed\|ready\|vm (' "$PVMVM_LOG" | tail -n 10 || true
    fi
    pvmvm_wait_idle 10 || true
}
