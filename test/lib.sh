# lib.sh - the scenario tests' library, in the style of git's t/test-lib.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'what a user does' '
#           nano coap get coap://$NET.1/health >out &&
#           grep "\"status\":\"ok\"" out
#   '
#   test_done
#
# Each test file gets a fresh temp dir (cwd, removed at exit) and its own
# loopback net $NET (127.X.<file number>.y), so files may run in parallel.
# Every process started with start_bg is killed by its pid at exit.

set -u
: "${NANO:=$(cd "$(dirname "$0")/.." && pwd)/nano}"
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=$(basename "$0" .sh)
TEST_NUM=$(echo "$TEST_NAME" | sed 's/^t0*\([0-9]*\).*/\1/')
# The second octet varies with the pid, so two suites running at once
# (two trees, a CI clone) rarely meet; the third is the file's number.
NET="127.$((10 + ($$ % 100) * 2 + TEST_NUM / 256 % 2)).$((TEST_NUM % 256))"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nano-$TEST_NAME.XXXXXX")
export NANO NET TMP
cd "$TMP" || exit 1

# Roles refuse to start without keys: the scenario tests run them plain
# (--insecure) unless they set up keys (use_keys); the DTLS tests do.
export NANO_INSECURE=1
unset NANO_KEYS
# mrs serves its kiosk page on 127.0.0.1:8080 by default, one port for the
# whole machine: the tests turn it off, and those of the page give each
# mrs an --http of its own on the file's net.
export NANO_HTTP=off

# use_keys ID...: a keys file $TMP/keys with a fresh key for each ID (the
# first one is the one `nano coap` speaks as), every role started from
# here on runs DTLS with it, and PORT is 5684 for flow.sh.
use_keys() {
	"$NANO" keys new "$@" >"$TMP/keys" || return 1
	unset NANO_INSECURE
	export NANO_KEYS="$TMP/keys"
	PORT=5684
}

test_count=0
test_failed=0
BG_PIDS=""

# nano as a command in test bodies, so they read like a user's session.
nano() { "$NANO" "$@"; }

AT_EXIT=""
# at_exit CMD: run CMD (a string) at exit, even when a test failed;
# for what is not a process (containers, networks, a swarm).
at_exit() {
	AT_EXIT="$1
$AT_EXIT"
}

cleanup() {
	eval "$AT_EXIT" >/dev/null 2>&1
	for pid in $BG_PIDS; do
		kill "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null    # one a test froze (SIGSTOP) must see it
	done
	for pid in $BG_PIDS; do
		stop_left=100
		while running "$pid" && [ "$stop_left" -gt 0 ]; do
			sleep 0.1
			stop_left=$((stop_left - 1))
		done
		running "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	cd / && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "# $*"; }

# start_bg NAME CMD...: run CMD in the background, stdout+stderr to NAME.log,
# remember its pid in $NAME_pid (and for the cleanup).
start_bg() {
	name=$1
	shift
	# the real binary, not the nano() function: a function would run in a
	# subshell whose pid is not the process we mean to stop
	if [ "$1" = nano ]; then
		shift
		set -- "$NANO" "$@"
	fi
	"$@" >"$TMP/$name.log" 2>&1 &
	eval "${name}_pid=$!"
	BG_PIDS="$BG_PIDS $!"
}

# stop_bg NAME [SIGNAL]: stop it and wait; its exit status in $NAME_status.
# A process that has not exited after STOP_WAIT seconds (30) is killed
# (SIGKILL; status 137, said on stderr): a role that hangs on its way out
# fails its test instead of holding up the whole run.
stop_bg() {
	eval "pid=\$${1}_pid"
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	stop_left=$((${STOP_WAIT:-30} * 10))
	while running "$pid" && [ "$stop_left" -gt 0 ]; do
		sleep 0.1
		stop_left=$((stop_left - 1))
	done
	stop_lsan=
	if running "$pid"; then
		if lsan_tracer_of "$pid"; then
			# make check: LeakSanitizer's tracer (a clone of the process)
			# sometimes waits for a ptrace stop that never comes, and the
			# process spins; its run was over (it logged "stopped")
			echo "# $1: LeakSanitizer hung at exit (its tracer never saw the stop); killed, no leak check" >&2
			stop_lsan=1
		else
			echo "$1 (pid $pid) did not exit in ${STOP_WAIT:-30} s; killed" >&2
		fi
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	eval "${1}_status=$?"
	[ -n "$stop_lsan" ] && eval "${1}_status=0"
	BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $pid\b//")
}

# lsan_tracer_of PID: PID has a child running the same program, the
# thread LeakSanitizer clones to stop the world for its leak check
lsan_tracer_of() {
	for d in /proc/[0-9]*; do
		[ "$(sed 's/^.*) [A-Za-z] \([0-9]*\).*/\1/' "$d/stat" 2>/dev/null)" = "$1" ] &&
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$(readlink "/proc/$1/exe" 2>/dev/null)" ] &&
			return 0
	done
	return 1
}

# running PID: the process is alive (not yet exited: an exited child of
# this shell stays a zombie until waited for)
running() {
	[ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# stop_cleanly NAME...: stop each (SIGTERM) and wait; fails if one did not
# exit 0 or any log holds a crash or sanitizer report.
stop_cleanly() {
	for name in "$@"; do
		stop_bg "$name" &&
		eval "st=\$${name}_status" &&
		{ test "$st" = 0 || { echo "$name exited $st"; return 1; }; } || return 1
	done &&
	! grep -E "AddressSanitizer|runtime error|double free" "$TMP"/*.log
}

# wait_for_health URI [TRIES]: poll GET URI/health every 100 ms.
wait_for_health() {
	n=${2:-50}
	while [ "$n" -gt 0 ]; do
		"$NANO" coap -t 0.5 get "$1/health" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "not healthy: $1" >&2
	return 1
}

# wait_until 'CMD' [TRIES]: eval CMD every 50 ms until it succeeds
# (default 100 tries: 5 s).
wait_until() {
	n=${2:-100}
	while [ "$n" -gt 0 ]; do
		eval "$1" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	echo "timed out waiting for: $1" >&2
	return 1
}

# skip_unless_docker_image: end this file with a TAP skip unless a Docker
# engine answers and $NANO is static (an image needs no libc of its own;
# make check's sanitizer build is dynamic).
skip_unless_docker_image() {
	if ! docker info >/dev/null 2>&1; then
		echo "1..0 # SKIP no Docker engine answers"
		exit 0
	fi
	if ! file -L "$NANO" | grep -q "statically linked"; then
		echo "1..0 # SKIP $NANO is not static (make check builds against glibc)"
		exit 0
	fi
}

# rss_max KB: KB for the static build run natively.  make check's
# sanitizer build (not static) carries ASan's shadow memory and
# quarantine, and a Pi build run by qemu-user (QEMU_CPU set) counts the
# emulator's own memory, so there the RSS bounds are 64 MB looser: they
# catch only growth without bound.
rss_max() {
	if file -L "$NANO" | grep -q "statically linked" && [ -z "${QEMU_CPU:-}" ]; then
		echo "$1"
	else
		echo $(( $1 + 65536 ))
	fi
}

# test_expect_code CODE CMD...: CMD must exit with CODE.
test_expect_code() {
	want=$1
	shift
	"$@"
	got=$?
	[ "$got" = "$want" ] && return 0
	echo "expected exit $want, got $got: $*" >&2
	return 1
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
	diff -u "$1" "$2"
}

# A body runs in a function, so `return 1` in it fails the test (rather
# than returning from test_expect_success without a TAP line).
test_run_() {
	eval "$1"
}

test_expect_success() {
	test_count=$((test_count + 1))
	if { test_run_ "$2"; } >"$TMP/.out" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TMP/.out" | tail -n 40
		for log in "$TMP"/*.log; do
			[ -f "$log" ] || continue
			echo "#   --- $(basename "$log") (tail)"
			tail -n 15 "$log" | sed 's/^/#   /'
		done
	fi
}

# test_skip DESCRIPTION REASON: a test that cannot run here (a tool is
# missing), as TAP has it: "ok N # skip REASON".
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # skip $2"
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
	exit $?
}
