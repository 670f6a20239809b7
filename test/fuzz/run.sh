#!/bin/sh
# run.sh - run one fuzz target, or replay inputs through it (make fuzz).
#
#   test/fuzz/run.sh TARGET SECONDS [LIBFUZZER_FLAG...]   fuzz for SECONDS
#   test/fuzz/run.sh TARGET FILE...                       replay FILEs once
#
# TARGET is a role (ae mcs pd bs ug mrs: build/fuzz/nano-fuzz ROLE, its
# hardware simulated, its peers down) or a parser (json rfc3339 bluez adv
# sightings render stack: build/fuzz/fuzz-TARGET).  Seeds are read from
# test/fuzz/corpus/TARGET; new inputs go to $FUZZ_BUILD/corpus/TARGET and
# crashes to $FUZZ_BUILD/crashes/TARGET-* (FUZZ_BUILD: build/fuzz).  Exit
# status is libFuzzer's: 0, or non-zero after a crash.
set -u
cd "$(dirname "$0")/../.."
B=${FUZZ_BUILD:-build/fuzz}
[ $# -ge 2 ] || { sed -n '3,5s/^# //p' "$0" >&2; exit 2; }
t=$1
shift

# ASan wants a real path to a symbolizer (a symlink in PATH is refused);
# clang-16's if installed, else whichever llvm-symbolizer there is.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
	for s in /usr/lib/llvm-16/bin/llvm-symbolizer "$(command -v llvm-symbolizer 2>/dev/null)"; do
		[ -n "$s" ] && [ -x "$s" ] && { ASAN_SYMBOLIZER_PATH=$(readlink -f "$s"); break; }
	done
	export ASAN_SYMBOLIZER_PATH
fi
# libdbus aborts when its API is misused (also its default; explicit here)
export DBUS_FATAL_WARNINGS=1
# Every UBSan finding is fatal but the known ones (ubsan.supp).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/test/fuzz/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

case $1 in
''|*[!0-9]*) mode=replay ;;
*) mode=fuzz; secs=$1; shift ;;
esac

seed=test/fuzz/corpus/$t
corpus=$B/corpus/$t
mkdir -p "$corpus" "$B/crashes"
flags="-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$B/crashes/$t-"
[ -f "test/fuzz/dict/$t.dict" ] && flags="$flags -dict=test/fuzz/dict/$t.dict"
if [ $mode = fuzz ]; then
	flags="$flags -max_total_time=$secs -max_len=4096 $*"
	inputs="$corpus $seed"
else
	flags="-runs=1"
	inputs="$*"
fi

case $t in
ae|mcs|pd|bs|ug|mrs)
	# An address of its own on loopback (the pid in it: two runs of one
	# role don't collide); the peers on 127.9.255.1, where nothing listens.
	n=0
	for r in ae mcs pd bs ug mrs; do n=$((n + 1)); [ $r = "$t" ] && break; done
	NANO_LISTEN=127.9.$(($$ % 250)).$n:5683
	dead=coap://127.9.255.1
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nano-fuzz-$t.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
	case $t in
	ae)  args="--db $tmp/ae.db --backup-dir $tmp/backup" ;;
	mcs) args="--ae $dead:9001 --ug $dead:9002 --bs entrance=$dead:9003 --bs-room R1=$dead:9004
	           --pd-room $dead:9005 --mrs R1=$dead:9006" ;;
	pd)  args="--sensor sim --location entrance --mcs $dead:9007" ;;
	bs)  args="--adapter sim --location R1 --scan on-demand --mcs $dead:9008" ;;
	ug)  args="--leds sim:1,2,3,4 --route R1=1,2,3 --route R2=1,2,4" ;;
	mrs) args="--room R1 --ae $dead:9009 --http off" ;;
	esac
	# The role's own log (libcoap's complaints about fuzzed datagrams)
	# would drown libFuzzer's: -close_fd_mask=2 while fuzzing.
	[ $mode = fuzz ] && flags="$flags -close_fd_mask=2"
	export NANO_LISTEN
	# Plain CoAP, so the datagrams reach libcoap's CoAP layer and the
	# handlers as they are (over DTLS they would end at the record layer
	# before any handshake); the access check of a role with keys is
	# make test's, t0470
	NANO_FUZZ_ARGS="$flags $inputs" "$B/nano-fuzz" $t $args --insecure --log-level error
	;;
json|rfc3339|bluez|adv|sightings|render|stack)
	"$B/fuzz-$t" $flags $inputs
	;;
*)
	echo "run.sh: no fuzz target '$t'" >&2
	exit 2
	;;
esac
