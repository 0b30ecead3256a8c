#!/bin/sh
# argv_test.sh CKPT-CC SRCDIR [CASE-FILTER]
#
# Runs a table of cc command lines twice, once with the real compiler (cc, or $CKPT_CC)
# and once with ckpt-cc, each in a fresh copy of SRCDIR, on a program without pragmas.
# Both must agree: same exit status (zero / non-zero), same set of files produced,
# executables that print the same, -E output identical, dependency files naming the
# user's source and object (never a temporary file).  Prints one line per case and
# exits non-zero if any case fails.
set -u
CKPTCC=$1
SRC=$2
FILTER=${3:-}
REAL=${CKPT_CC:-cc}
TOP=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-argv.XXXXXX") || exit 1
trap 'rm -rf "$TOP"' EXIT INT TERM
fails=0
n=0

# run_case NAME STDIN-FILE ARGS... : runs in $TOP/cc and $TOP/ckpt
run_case() {
    name=$1; stdin=$2; shift 2
    case $name in *"$FILTER"*) ;; *) return ;; esac
    n=$((n + 1))
    for side in cc ckpt; do
        rm -rf "$TOP/$side"; mkdir -p "$TOP/$side/out" "$TOP/$side/dep"
        cp -r "$SRC"/. "$TOP/$side/"
        if [ $side = cc ]; then comp=$REAL; else comp=$CKPTCC; fi
        (cd "$TOP/$side" && find . -type f | sort > ../$side.before
         if [ "$1" = sh ]; then
             sh -c "$3" "$comp"
         elif [ -n "$stdin" ]; then
             $comp "$@" < "$stdin"
         else
             $comp "$@"
         fi > ../$side.stdout 2> ../$side.stderr
         echo $? > ../$side.rc
         find . -type f | sort > ../$side.after)
    done
    why=""
    rc_cc=$(cat "$TOP/cc.rc"); rc_ck=$(cat "$TOP/ckpt.rc")
    if [ "$rc_cc" = 0 ] && [ "$rc_ck" != 0 ]; then why="ckpt-cc failed ($rc_ck): $(head -c 600 "$TOP/ckpt.stderr")"; fi
    if [ "$rc_cc" != 0 ] && [ "$rc_ck" = 0 ]; then why="ckpt-cc succeeded where cc failed"; fi
    comm -13 "$TOP/cc.before" "$TOP/cc.after" > "$TOP/cc.new"
    comm -13 "$TOP/ckpt.before" "$TOP/ckpt.after" > "$TOP/ckpt.new"
    if [ -z "$why" ] && ! cmp -s "$TOP/cc.new" "$TOP/ckpt.new"; then
        why="different products: cc: $(tr '\n' ' ' < "$TOP/cc.new") ckpt-cc: $(tr '\n' ' ' < "$TOP/ckpt.new")"
    fi
    if [ -z "$why" ] && [ "$rc_cc" = 0 ] && ! cmp -s "$TOP/cc.stderr" "$TOP/ckpt.stderr"; then
        why="different messages: $(diff "$TOP/cc.stderr" "$TOP/ckpt.stderr" | head -c 600)"
    fi
    if [ -z "$why" ] && [ "$rc_cc" = 0 ]; then
        case " $* " in
        *" -E "*|*" -M "*|*" -MM "*)
            # preprocessing only: the original source through the real compiler
            cmp -s "$TOP/cc.stdout" "$TOP/ckpt.stdout" || why="-E/-M output differs"
            for f in $(cat "$TOP/cc.new"); do
                cmp -s "$TOP/cc/$f" "$TOP/ckpt/$f" || why="$f differs"
            done ;;
        esac
    fi
    if [ -z "$why" ]; then
        for f in $(cat "$TOP/cc.new"); do
            case $f in
            *.d)
                # same target, same first prerequisite (the user's source), no temporary
                t1=$(sed -n '1s/:.*//p' "$TOP/cc/$f"); t2=$(sed -n '1s/:.*//p' "$TOP/ckpt/$f")
                p1=$(tr -d '\\\n' < "$TOP/cc/$f" | sed 's/^[^:]*: *//' | awk '{print $1}')
                p2=$(tr -d '\\\n' < "$TOP/ckpt/$f" | sed 's/^[^:]*: *//' | awk '{print $1}')
                [ "$t1" = "$t2" ] || why="$f: target '$t2', cc says '$t1'"
                [ "$p1" = "$p2" ] || why="$f: first prerequisite '$p2', cc says '$p1'"
                # (ckpt-cc's own temporaries; the checkout itself may well live in /tmp)
                if grep -q "ckpt-cc\.[A-Za-z0-9]\{6\}/\|ckpt-cc-inc\." "$TOP/ckpt/$f"; then why="$f names a temporary file"; fi ;;
            *.o|*.s|*.i|*.a) ;;
            *)
                if [ -x "$TOP/cc/$f" ]; then
                    o1=$(cd "$TOP/cc" && "./$f" a b 2>&1); o2=$(cd "$TOP/ckpt" && "./$f" a b 2>&1)
                    [ "$o1" = "$o2" ] || why="./$f prints '$o2', cc's prints '$o1'"
                fi ;;
            esac
        done
    fi
    if [ -n "$why" ]; then
        echo "FAIL $name: $why"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

run_case compile-c           ""  -c hello.c
run_case compile-o           ""  -c hello.c -o out/h.o
run_case compile-attached-o  ""  -c hello.c -oout/h.o
run_case compile-two         ""  -c hello.c util.c
run_case compile-S           ""  -S hello.c
run_case compile-S-o         ""  -S -o out/h.s hello.c
run_case link-two            ""  hello.c util.c -o prog
run_case link-default-aout   ""  hello.c util.c
run_case link-obj            ""  hello.c util.c -o prog -O2 -g
run_case flags-D-string      ""  '-DGREETING="hi there"' -O1 -Wall hello.c util.c -o prog
run_case flags-D-sep         ""  -D GREETING=\"sep\" -U NOTHING -I . hello.c util.c -o prog
run_case flags-std           ""  -std=c99 -pedantic -Wall -Wextra hello.c util.c -o prog
run_case flags-c89-pedantic  ""  -std=c89 -pedantic -Wall -Wextra -Werror -c hello.c
run_case flags-std-gnu89     ""  -std=gnu89 hello.c util.c -o prog
run_case flags-include       ""  -include pre.h hello.c util.c -o prog
run_case flags-isystem       ""  -isystem . -iquote . hello.c util.c -o prog
run_case flags-linker        ""  -Wl,-O1 -Xlinker --as-needed hello.c util.c -o prog -lm
run_case flags-pipe-f        ""  -pipe -fno-common -fPIC -g3 hello.c util.c -o prog
run_case lang-x              ""  -x c hello.c -x none util.c -o prog
run_case stdin               hello.c  -x c -c - -o out/s.o
run_case dep-MD              ""  -MD -c hello.c
run_case dep-MMD-o           ""  -MMD -c hello.c -o out/h.o
run_case dep-MF-MT           ""  -MMD -MF dep/x.d -MT target.o -c hello.c -o out/h.o
run_case dep-MQ              ""  -MD -MQ 'out/$h.o' -MF dep/q.d -c hello.c
run_case dep-MD-MP           ""  -MD -MP -c util.c -o out/u.o
run_case dep-link-MD-o       ""  -MD hello.c util.c -o prog
run_case dep-link-MD         ""  -MD hello.c util.c
run_case dep-link-MMD-MT     ""  -MMD -MT foo hello.c util.c -o out/prog
run_case response-file       ""  @link.rsp -O1
run_case response-compile    ""  -Wall @compile.rsp
run_case dep-Wp-MD           ""  -Wp,-MD,dep/wp.d -c hello.c -o out/h.o
run_case save-temps          ""  -save-temps -c hello.c
run_case dep-S-MD            ""  -S -MD hello.c
run_case dep-S-MD-o          ""  -S -MMD hello.c -o out/x.s
run_case pre-E               ""  -E hello.c
run_case pre-E-o             ""  -E -DGREETING=1 hello.c -o out/h.i
run_case pre-M               ""  -M hello.c
run_case pre-MM-MF           ""  -MM -MF dep/mm.d hello.c
run_case two-step            ""  sh -c '$0 -c util.c && $0 -c hello.c && $0 hello.o util.o -o prog'
run_case archive             ""  sh -c '$0 -c util.c && ar rcs libu.a util.o && $0 hello.c -L. -lu -o prog'
run_case error-compile       ""  -c bad.c
run_case error-link          ""  bad.c util.c -o prog
run_case error-missing       ""  -c nosuch.c
run_case error-missing-o     ""  -c hello.c -o nodir/h.o
run_case error-undefined     ""  hello.c -o prog

echo "$n cases, $fails failed"
[ $fails = 0 ]
