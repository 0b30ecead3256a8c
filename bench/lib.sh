# shellcheck shell=bash
# bench/lib.sh: what the benchmark scripts share.  Source it after setting
# `top` (the repository root).
#
#   bench_tools BUILD_DIR   sets CKPT_CC, CKPT_RUN, CKPT_INFO, LIBCKPT from a
#                           build folder, brought up to date with the sources first
#                           (a stale build would measure old code)
#   bench_median            stdin "KEY VALUE" lines -> "KEY MEDIAN N Q1 Q3" per
#                           key (Q1, Q3: lower and upper quartile, the middle of
#                           each half), keys in order of first appearance
#   bench_machine           one line: date, nproc, load, kernel, cpu model
#   bench_pct A B           (B - A) / A in percent, one decimal, signed
#   child_cpu FILE          user+sys s of the shell's reaped children, into FILE
#   pvmd_child_cpu          user+sys s of the pvmd's reaped children (the tasks)

bench_tools() {
    local b=$1
    echo "# building $b" >&2
    { [[ -f $b/CMakeCache.txt ]] || cmake -S "$top" -B "$b" >/dev/null; } &&
        cmake --build "$b" -j2 >/dev/null ||
        { echo "bench: cannot build $b" >&2; return 1; }
    CKPT_CC=$b/instrument/ckpt-cc
    CKPT_RUN=$b/tools/ckpt-run
    CKPT_INFO=$b/tools/ckpt-info
    LIBCKPT=$b/runtime/libckpt.a
}

bench_median() {
    awk '
    function mid(lo, hi, c) {                   # median of a[lo..hi]
        c = hi - lo + 1
        return c % 2 ? a[lo + (c - 1) / 2] : (a[lo + c / 2 - 1] + a[lo + c / 2]) / 2
    }
    { if (!($1 in n)) { keys[++nk] = $1; n[$1] = 0 }
      v[$1, ++n[$1]] = $2 + 0 }
    END {
        for (k = 1; k <= nk; k++) {
            key = keys[k]; m = n[key]
            for (i = 1; i <= m; i++) a[i] = v[key, i]
            for (i = 2; i <= m; i++) {          # insertion sort
                x = a[i]
                for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
                a[j + 1] = x
            }
            h = m > 1 ? int(m / 2) : 1
            printf "%s %.6g %d %.6g %.6g\n", key, mid(1, m), m, mid(1, h), mid(m - h + 1, m)
        }
    }'
}

bench_machine() {
    printf '%s UTC; nproc %s; load %s; %s; %s\n' "$(date -u '+%Y-%m-%d %H:%M')" "$(nproc)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$(uname -sr)" \
        "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
}

bench_pct() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%+.1f", (b - a) / a * 100; else printf "n/a" }'
}

bench_now() { date +%s.%N; }
# bench_secs T0 T1: seconds between two bench_now readings, 2 decimals
bench_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# bench_jacobi_iters N NTASKS K TARGET: how many iterations make the plain
# ./plain/jacobi last about TARGET seconds, timed on a short run
bench_jacobi_iters() {
    local n=$1 ntasks=$2 k=$3 target=$4 cal t0 t1
    cal=$(( n >= 2048 ? 150 : 400 ))
    t0=$(bench_now)
    pvmvm_run 300 ./plain/jacobi "$n" "$cal" "$ntasks" "$k" >/dev/null
    t1=$(bench_now)
    pvmvm_wait_idle 10 || true
    echo "# calibration: $cal iterations in $(bench_secs "$t0" "$t1") s" >&2
    awk -v c="$cal" -v s="$(bench_secs "$t0" "$t1")" -v t="$target" \
        'BEGIN { i = int(t / (s / c) / 100 + 0.5) * 100; print i < 100 ? 100 : i }'
}

# bench_said LABEL ERR N: what ckpt-run -v said in ERR of checkpoints,
# recoveries and the job's end (at most N lines), fenced, for a table's notes
bench_said() {
    echo
    echo "ckpt-run -v said ($1):"
    echo
    echo '```'
    grep -v '^ckpt\[' "$2" | sed -n '/committed\|aborted\|job ended\|recover/p' | head -n "$3"
    echo '```'
}

# child_cpu FILE: user+sys seconds of this shell's reaped children (bash
# `times`), into FILE; call it in the shell itself, never in $( ): a subshell
# has no children yet
child_cpu() {
    times >"$1.times"
    awk 'NR == 2 { n = split($1 " " $2, f, " "); s = 0
        for (i = 1; i <= n; i++) { split(f[i], p, "m"); sub(/s$/, "", p[2]); s += p[1] * 60 + p[2] }
        printf "%.2f\n", s }' "$1.times" >"$1"
}

# pvmd_child_cpu: cutime+cstime of the pvmd (its spawned tasks, once reaped)
pvmd_child_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " ");
        printf "%.2f\n", (f[14] + f[15]) / hz }' "/proc/$PVMVM_PID/stat"
}
