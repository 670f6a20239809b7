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
#
# A test that needs a tool this machine may lack names it as a
# prerequisite (git's test_set_prereq/test_have_prereq), and where it is
# missing the test is reported skipped, never a silent ok:
#
#   test_expect_success COAP_CLIENT 'libcoap reads a page' '
#           coap-client-notls -m get coap://$NET.1/events >out && ...
#   '
#   -> ok 7 - libcoap reads a page # skip missing COAP_CLIENT (coap-client-notls: Debian libcoap3-bin)
#
#   skip_all_unless CURL            the whole file: "1..0 # SKIP missing CURL ..."
#   test_have_prereq COAP_CLIENT    true or false, e.g. to start an extra client
#   test_lazy_prereq NAME 'SCRIPT' ['HINT']   NAME holds if SCRIPT succeeds
#                                   (run once, when first asked)
#   test_set_prereq NAME            NAME holds (the file found out itself)
#
# Several are "A,B" (both needed); "!A" needs A missing.  The ones every
# file may ask for are defined below (COAP_CLIENT, CURL, DOCKER, ...).

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

# ---- prerequisites ----------------------------------------------------

prereq_ok_=" "          # names that hold
prereq_no_=" "          # names that were tested and do not hold
prereq_missing_=        # what the last test_have_prereq found missing

# test_set_prereq NAME: NAME holds from now on.
test_set_prereq() {
	prereq_ok_="$prereq_ok_$1 "
}

# test_lazy_prereq NAME 'SCRIPT' ['HINT']: NAME holds if SCRIPT succeeds
# (run in a subshell, its output dropped, the first time NAME is asked
# for); HINT is said with a skip (what to install).
test_lazy_prereq() {
	eval "prereq_script_$1=\$2; prereq_hint_$1=\${3:-}"
}

# prereq_holds_ NAME: 0 if NAME holds (its lazy script run if need be)
prereq_holds_() {
	case $prereq_ok_ in *" $1 "*) return 0 ;; esac
	case $prereq_no_ in *" $1 "*) return 1 ;; esac
	eval "prereq_script_=\${prereq_script_$1:-}"
	if [ -n "$prereq_script_" ] && ( eval "$prereq_script_" ) >/dev/null 2>&1; then
		test_set_prereq "$1"
		return 0
	fi
	prereq_no_="$prereq_no_$1 "
	return 1
}

# test_have_prereq NAME[,NAME...]: 0 if each holds (a !NAME: is missing);
# else 1, with what is missing in $prereq_missing_.
test_have_prereq() {
	prereq_missing_=
	prereq_list_=$1
	while [ -n "$prereq_list_" ]; do
		prereq_=${prereq_list_%%,*}
		case $prereq_list_ in *,*) prereq_list_=${prereq_list_#*,} ;; *) prereq_list_= ;; esac
		case $prereq_ in
		!*)
			prereq_holds_ "${prereq_#!}" || continue
			prereq_why_="$prereq_ (this machine has ${prereq_#!})" ;;
		*)
			prereq_holds_ "$prereq_" && continue
			eval "prereq_why_=\${prereq_hint_$prereq_:-}"
			prereq_why_="$prereq_${prereq_why_:+ ($prereq_why_)}" ;;
		esac
		prereq_missing_="${prereq_missing_:+$prereq_missing_, }$prereq_why_"
	done
	[ -z "$prereq_missing_" ]
}

# skip_all_unless NAME[,NAME...]: end this file with a TAP skip of the
# whole plan unless every NAME holds.
skip_all_unless() {
	test_have_prereq "$1" && return 0
	echo "1..0 # SKIP missing $prereq_missing_"
	exit 0
}

# system_bus_conf ADDRESS: a dbus-daemon configuration for a private
# system bus listening on ADDRESS (unix:path=...), open to every name, as
# the fake org.bluez (test/bluez-lib.sh, test/stack-run.sh) needs.
system_bus_conf() {
	cat <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>system</type>
	  <listen>$1</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	    <allow own="*"/>
	  </policy>
	</busconfig>
	EOF
}

# What the tests may need besides nano, python3 and a POSIX shell.
test_lazy_prereq COAP_CLIENT 'command -v coap-client-notls' \
	'coap-client-notls: Debian libcoap3-bin'
test_lazy_prereq COAP_SERVER 'command -v coap-server-notls' \
	'coap-server-notls: Debian libcoap3-bin'
test_lazy_prereq COAP_CLIENT_OPENSSL 'command -v coap-client-openssl' \
	'coap-client-openssl: Debian libcoap3-bin'
test_lazy_prereq COAP_CLIENT_GNUTLS 'command -v coap-client-gnutls' \
	'coap-client-gnutls: Debian libcoap3-bin'
test_lazy_prereq COAP_SERVER_OPENSSL 'command -v coap-server-openssl' \
	'coap-server-openssl: Debian libcoap3-bin'
test_lazy_prereq CURL 'command -v curl' 'Debian curl'
test_lazy_prereq PYTHON3 'test -x /usr/bin/python3' '/usr/bin/python3: Debian python3'
test_lazy_prereq DBUSMOCK 'command -v dbus-daemon && /usr/bin/python3 -c "import dbus, dbusmock"' \
	'dbus-daemon and python3-dbusmock: Debian dbus-daemon python3-dbusmock'
test_lazy_prereq DOCKER 'docker info' 'a Docker engine that answers'
test_lazy_prereq YAML '/usr/bin/python3 -c "import yaml"' 'python3-yaml: Debian python3-yaml'
# a role's own /etc/hosts, as a container has (test/stack-run.sh): root
test_lazy_prereq MOUNT_NS 'unshare -m sh -c "mount --bind /dev/null /etc/hosts"' \
	'unshare -m and a bind mount on /etc/hosts (root)'
# make check's sanitizer build is dynamic (glibc); an image needs a static one
test_lazy_prereq STATIC 'file -L "$NANO" | grep -q "statically linked"' \
	"$NANO static (make check builds against glibc)"
# Not under qemu-user (make test ARCH=armv7|arm64 sets QEMU_CPU): for the
# tests whose point does not depend on the CPU and that emulation makes
# slow, a whole building of roles (t0531, t0532).
test_lazy_prereq NATIVE 'test -z "${QEMU_CPU:-}"' 'the native build (not under qemu-user)'
test_lazy_prereq GPIOCHIP 'ls /dev/gpiochip*' 'a GPIO chip, /dev/gpiochip*'

# skip_unless_docker_image: end this file with a TAP skip unless a Docker
# engine answers and $NANO is static (an image needs no libc of its own).
skip_unless_docker_image() {
	skip_all_unless DOCKER,STATIC
}

# stat_of URI KEY: the number KEY holds in GET URI/stats (empty when
# it holds none).
stat_of() {
	nano coap get "$1/stats" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# rss_max KB: KB for the static build run natively.  make check's
# sanitizer build (not static) carries ASan's shadow memory and
# quarantine, and a Pi build run by qemu-user (QEMU_CPU set) counts the
# emulator's own memory, so there the RSS bounds are 64 MB looser: they
# catch only growth without bound.
rss_max() {
	if test_have_prereq STATIC && [ -z "${QEMU_CPU:-}" ]; then
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

# test_expect_success [PREREQ] TITLE BODY: run BODY; ok if it succeeds.
# With PREREQ (NAME or NAME,NAME; see above) missing, BODY does not run
# and the test says why: "ok N - TITLE # skip missing PREREQ".
test_expect_success() {
	test_count=$((test_count + 1))
	if [ $# = 3 ]; then
		if ! test_have_prereq "$1"; then
			echo "ok $test_count - $2 # skip missing $prereq_missing_"
			return 0
		fi
		shift
	fi
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

test_done() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
	exit $?
}
