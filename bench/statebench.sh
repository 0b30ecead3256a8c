#!/usr/bin/env bash
# statebench.sh: what transparent state (issue 14) costs against the pragmas,
# for the three samples (ring, master_worker, jacobi), under one private pvmd
# (tests/lib/pvmvm.sh).  Each sample is built three ways:
#
#   plain     make CC=cc, the sample as is
#   explicit  make CC="ckpt-cc --ckpt-explicit", the sample as is: only what
#             the #pragma CKPT_SAVE lines name (and the heap), no polls
#   auto      make CC=ckpt-cc on a copy with every `#pragma CKPT_...` line
#             deleted (as tests/integration/zdtm.sh --no-pragmas does): every
#             global, static and local in scope, the heap, polls in outer loops
#
# and run, interleaved (plain, then the four instrumented runs, explicit and
# auto alternating which goes first from trial to trial), N trials:
#
#   explicit -iI / auto -iI   ckpt-run -v -i I -k 1000: checkpoints every I s
#   explicit -i0 / auto -i0   ckpt-run -i 0: instrumented, no checkpoint (the
#                             cost of the frames and polls alone)
#
# Every output must equal the plain run's (trial 1); a difference is printed
# on stderr at once, marked DIFFERS in the table, its files kept under
# --keep DIR (or reported by path) and the script exits 1 after the table.
#
# Reported per sample and variant: wall seconds (median; trials), overhead
# against plain, CPU seconds of the whole job (bash `times` and the pvmd's
# cutime/cstime, as jacobibench.sh) and its overhead, checkpoints committed
# per trial, raw and stored bytes per checkpoint (all tasks; mean over every
# committed epoch of every trial, from ckpt-info --json: -k 1000 keeps them
# all) with the sender log's share, the round time per checkpoint (median of
# ckpt-run -v's "round N ms"), and for auto the ratios auto / explicit of the
# bytes and of the round time.
#
#   bench/statebench.sh [--quick] [-o FILE] [--build DIR] [--trials N]
#                       [--interval I] [--keep DIR]
#
#   full (default): ring 2400 4 1000000, master 2 60 500000, jacobi 2048 1200 4
#                   100 (each some 10-20 s plain here), -i 2, 3 trials; about
#                   15 minutes.
#   --quick:        ring 500 4 1000000, master 2 16 500000, jacobi 1024 1500 4
#                   100 (a few seconds each), -i 0.5, 1 trial; about 2 minutes.
#   --keep DIR      keep, per sample and variant, the last trial's newest image
#                   of the first task and its `ckpt-info -s` (to see which
#                   variables and blocks make the difference)
#   -o FILE         also write the table to FILE
#
# Goals (#14): auto <= 1.2x explicit's bytes; polls <= 1 % (auto -i0 against
# explicit -i0).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/lib/pvmvm.sh"
. "$here/lib.sh"

quick=0 out= build=$top/build-bench trials= interval= keep=
while (($#)); do
    case $1 in
    --quick) quick=1; shift ;;
    -o) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "statebench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
samples=(ring master_worker jacobi)
declare -A prog args
prog[ring]=ring prog[master_worker]=master prog[jacobi]=jacobi
if ((quick)); then
    trials=${trials:-1} interval=${interval:-0.5}
    args[ring]="500 4 1000000" args[master_worker]="2 16 500000" args[jacobi]="1024 1500 4 100"
else
    trials=${trials:-3} interval=${interval:-2}
    args[ring]="2400 4 1000000" args[master_worker]="2 60 500000" args[jacobi]="2048 1200 4 100"
fi
[[ -n $out ]] && out=$(realpath -m "$out")
build=$(realpath -m "$build")
[[ -n $keep ]] && keep=$(realpath -m "$keep")
bench_tools "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/statebench.XXXXXX")
pvmvm_at_exit 'rm -rf "$work"'

# build: three folders per sample; the plain ones are the pvmd's ep (the plain
# master finds its worker there; ckpt-run finds spawned programs next to the
# one it runs)
eps=()
for s in "${samples[@]}"; do
    d=$work/$s
    mkdir -p "$d"
    for v in plain explicit auto; do
        cp -r "$top/samples/$s" "$d/$v"
        make -s -C "$d/$v" clean >/dev/null
    done
    for f in "$d"/auto/*.[ch]; do
        sed -i '/^[[:space:]]*#[[:space:]]*pragma[[:space:]][[:space:]]*CKPT_/d' "$f"
    done
    if grep -l 'CKPT_' "$d"/auto/*.[ch] >&2; then
        echo "statebench: CKPT_ still named in the files above after stripping the pragmas" >&2
        exit 1
    fi
    echo "# building $s: plain, explicit, auto" >&2
    make -C "$d/plain" CC=cc >"$d/build.plain" 2>&1 || { cat "$d/build.plain" >&2; exit 1; }
    make -C "$d/explicit" CC="$CKPT_CC --ckpt-explicit" >"$d/build.explicit" 2>&1 ||
        { cat "$d/build.explicit" >&2; exit 1; }
    make -C "$d/auto" CC="$CKPT_CC" >"$d/build.auto" 2>&1 || { cat "$d/build.auto" >&2; exit 1; }
    eps+=(--ep "$d/plain")
done

pvmvm_start "${eps[@]}" --wd "$work"
cd "$work"
load0=$(bench_machine)
echo "# statebench $( ((quick)) && echo quick || echo full): $trials trial(s), -i $interval; $load0" >&2


failed=0
# run S V T: one run of sample S, variant V (plain, explicit.i, auto.i,
# explicit.0, auto.0), trial T; leaves S/res/{out,err,wall,cpu,rc,info}.V.T
run() {
    local s=$1 v=$2 t=$3 rc=0 t0 t1 p0 b=${2%.*} iv=${2#*.} r=$work/$1/res
    local -a a
    read -ra a <<<"${args[$s]}"
    mkdir -p "$r"
    echo "# $s trial $t $v ($(cut -d' ' -f1 /proc/loadavg))" >&2
    rm -rf "$work/ckpt"
    child_cpu "$r/cpu0.$v.$t"
    p0=$(pvmd_child_cpu)
    t0=$(bench_now)
    if [[ $v == plain ]]; then
        timeout -k 5 600 "$work/$s/plain/${prog[$s]}" "${a[@]}" >"$r/out.$v.$t" 2>"$r/err.$v.$t" || rc=$?
    else
        local -a o=(-i 0)
        [[ $iv == i ]] && o=(-v -i "$interval" -k 1000)
        timeout -k 5 600 "$CKPT_RUN" "${o[@]}" -d "$work/ckpt" "$work/$s/$b/${prog[$s]}" "${a[@]}" \
            >"$r/out.$v.$t" 2>"$r/err.$v.$t" || rc=$?
    fi
    t1=$(bench_now)
    echo "$(bench_secs "$t0" "$t1")" >"$r/wall.$v.$t"
    echo "$rc" >"$r/rc.$v.$t"
    pvmvm_wait_idle 20 || true
    child_cpu "$r/cpu1.$v.$t"
    awk -v a="$(cat "$r/cpu0.$v.$t")" -v b="$(cat "$r/cpu1.$v.$t")" -v c="$p0" -v d="$(pvmd_child_cpu)" \
        'BEGIN { printf "%.2f\n", (b - a) + (d - c) }' >"$r/cpu.$v.$t"
    if [[ $iv == i ]]; then
        "$CKPT_INFO" --json "$work/ckpt" >"$r/info.$v.$t" 2>/dev/null || true
        if [[ -n $keep ]]; then
            local img
            img=$(find "$work/ckpt" -path '*/epoch.*/task.*.img' | sort -V | tail -n 1)
            if [[ -n $img ]]; then
                mkdir -p "$keep"
                cp "$img" "$keep/$s.$b.img"
                "$CKPT_INFO" -s "$img" >"$keep/$s.$b.sections" 2>&1 || true
            fi
        fi
    fi
    rm -rf "$work/ckpt"
    if ((rc != 0)); then
        echo "statebench: $s $v trial $t FAILED (exit $rc): $(tail -n 3 "$r/err.$v.$t")" >&2
        failed=1
    elif [[ $v != plain || $t != 1 ]] && ! cmp -s "$r/out.plain.1" "$r/out.$v.$t"; then
        echo "statebench: $s $v trial $t: OUTPUT DIFFERS from the plain run's:" >&2
        diff "$r/out.plain.1" "$r/out.$v.$t" | head -n 10 >&2 || true
        failed=1
    fi
}

for ((t = 1; t <= trials; t++)); do
    for s in "${samples[@]}"; do
        run "$s" plain "$t"
        if ((t % 2)); then order=(explicit auto); else order=(auto explicit); fi
        for iv in i 0; do
            for b in "${order[@]}"; do run "$s" "$b.$iv" "$t"; done
        done
    done
done
load1=$(bench_machine)

med() { cat "$@" | awk '{ print "x", $1 }' | bench_median | awk '{ print $2 }'; }
list() { cat "$@" | tr '\n' ' ' | sed 's/ $//'; }
# human BYTES: B, KiB or MiB
human() {
    awk -v b="$1" 'BEGIN { if (b == "" || b == "-") print "-"; else if (b >= 1048576) printf "%.2f MiB", b / 1048576;
        else if (b >= 1024) printf "%.1f KiB", b / 1024; else printf "%d B", b }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b != "-") printf "%.2fx", b / a; else print "-" }'; }
# epochs FILES: "RAW STORED LOG" bytes per committed epoch (all tasks), mean
# over every epoch of every file
epochs() {
    cat "$@" | awk '/"epoch":/ { e++ }
        /"raw_bytes":/ { for (i = 1; i <= NF; i++) { f = $i; gsub(/[",:{}]/, "", f)
            if (f == "raw_bytes") r += $(i + 1); if (f == "stored_bytes") s += $(i + 1); if (f == "log_bytes") l += $(i + 1) } }
        END { if (e) printf "%.0f %.0f %.0f\n", r / e, s / e, l / e; else print "- - -" }'
}
rounds_ms() { cat "$@" | sed -n 's/^ckpt-run: checkpoint [0-9]* committed:.* round \([0-9]*\) ms.*/\1/p'; }

{
    echo "## statebench ($( ((quick)) && echo quick || echo full) mode): transparent state (auto) against the pragmas (explicit)"
    echo
    echo "$load0 (at start)"
    echo
    echo "Sizes: $(for s in "${samples[@]}"; do printf '`%s %s`, ' "${prog[$s]}" "${args[$s]}"; done | sed 's/, $//');"
    echo "$trials trial(s), interleaved; -iI = \`ckpt-run -v -i $interval -k 1000\`, -i0 = \`ckpt-run -i 0\` (no checkpoint)."
    echo
    echo "| sample | variant | wall s median (trials) | wall ovh vs plain | CPU s median (trials) | CPU ovh vs plain | ckpts per trial | raw / ckpt (all tasks) | of which sender log | stored / ckpt | round ms median (max) | auto / explicit bytes | auto / explicit round | output |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for s in "${samples[@]}"; do
        r=$work/$s/res
        wp=$(med "$r"/wall.plain.*) cp=$(med "$r"/cpu.plain.*)
        for v in plain explicit.i auto.i explicit.0 auto.0; do
            w=$(med "$r"/wall."$v".*) c=$(med "$r"/cpu."$v".*)
            rcs=$(cat "$r"/rc."$v".* | sort -u | tr '\n' ' ')
            outc=identical
            [[ $v == plain ]] && outc=reference
            for o in "$r"/out."$v".*; do cmp -s "$r/out.plain.1" "$o" || outc=DIFFERS; done
            [[ $rcs == "0 " ]] || outc="FAILED (exit $rcs)"
            ck=- raw=- st=- lg=- rd=- rb=- rr=-
            if [[ ${v#*.} == i ]]; then
                ck=$(sed -n 's/.* \([0-9]*\) checkpoints\{0,1\} committed.*/\1/p' "$r"/err."$v".* | tr '\n' '+' | sed 's/+$//')
                read -r raw st lg < <(epochs "$r"/info."$v".*)
                echo "$raw $st $lg" >"$r/bytes.$v"
                rounds_ms "$r"/err."$v".* >"$r/rounds.$v"
                if [[ -s $r/rounds.$v ]]; then
                    rd=$(med "$r/rounds.$v")
                    echo "$rd" >"$r/round.$v"
                    rd="$rd ($(sort -g "$r/rounds.$v" | tail -n 1))"
                fi
                if [[ $v == auto.i ]]; then
                    read -r eraw _ _ <"$r/bytes.explicit.i"
                    rb=$(ratio "$eraw" "$raw")
                    [[ -f $r/round.explicit.i && -f $r/round.auto.i ]] &&
                        rr=$(ratio "$(cat "$r/round.explicit.i")" "$(cat "$r/round.auto.i")")
                fi
            fi
            case $v in
            plain) label=plain ;;
            *.i) label="${v%.*} -i $interval" ;;
            *.0) label="${v%.*} -i 0" ;;
            esac
            ow= oc=
            [[ $v == plain ]] || { ow=$(bench_pct "$wp" "$w")%; oc=$(bench_pct "$cp" "$c")%; }
            printf '| %s | %s | %s (%s) | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
                "${prog[$s]}" "$label" "$w" "$(list "$r"/wall."$v".*)" "$ow" "$c" "$(list "$r"/cpu."$v".*)" "$oc" \
                "$ck" "$(human "$raw")" "$(human "$lg")" "$(human "$st")" "$rd" "$rb" "$rr" "$outc"
        done
    done
    echo
    echo "Polls and frames alone (no checkpoint): auto -i 0 against explicit -i 0, medians."
    echo
    echo "| sample | wall auto / explicit | CPU auto / explicit | wall auto vs plain | CPU auto vs plain |"
    echo "|---|---:|---:|---:|---:|"
    for s in "${samples[@]}"; do
        r=$work/$s/res
        we=$(med "$r"/wall.explicit.0.*) wa=$(med "$r"/wall.auto.0.*)
        ce=$(med "$r"/cpu.explicit.0.*) ca=$(med "$r"/cpu.auto.0.*)
        wp=$(med "$r"/wall.plain.*) cp=$(med "$r"/cpu.plain.*)
        printf '| %s | %s%% | %s%% | %s%% | %s%% |\n' "${prog[$s]}" "$(bench_pct "$we" "$wa")" "$(bench_pct "$ce" "$ca")" \
            "$(bench_pct "$wp" "$wa")" "$(bench_pct "$cp" "$ca")"
    done
    echo
    echo "Bytes: mean per committed checkpoint over every epoch of every trial (ckpt-info --json, all tasks);"
    echo "round: ckpt-run -v's \"round N ms\" (request to commit), median over every checkpoint of every trial."
    echo "CPU s: user+sys of every process of the job (bash \`times\`, the pvmd's cutime/cstime)."
    echo "Goals (#14): auto <= 1.2x explicit's bytes; polls <= 1 % (auto -i 0 against explicit -i 0)."
    echo
    echo "end: $load1"
} >"$work/table"
cat "$work/table"
[[ -n $out ]] && cp "$work/table" "$out"
if ((failed)); then
    if [[ -n $keep ]]; then
        mkdir -p "$keep"
        for s in "${samples[@]}"; do cp -r "$work/$s/res" "$keep/$s.res"; done
        echo "statebench: a run failed or differed: outputs kept in $keep/*.res" >&2
    else
        echo "statebench: a run failed or differed (run with --keep DIR to keep the outputs)" >&2
    fi
    exit 1
fi
exit 0
