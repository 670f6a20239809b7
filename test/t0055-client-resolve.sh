#!/bin/sh
# A peer's name whose lookup hangs (a Swarm node down: Docker forwards the
# name to an upstream that never answers) must not stop the role's loop:
# mcs answers /health at once all along, reports the peer down with the
# reason, reaches it once the name resolves, and exits at once on SIGTERM
# while a lookup still hangs.
# mcs runs in a mount namespace of its own, whose /etc/resolv.conf names
# a DNS server here that never answers (3 s per lookup), and whose
# /etc/hosts the test writes later.
. "$(dirname "$0")/lib.sh"

skip_all_unless MOUNT_NS,PYTHON3

MCS=coap://$NET.1
DNS=$NET.53

# in_ns NAME ARGS...: start nano ARGS in the namespace, as NAME
in_ns() {
	name=$1
	shift
	start_bg "$name" unshare -m sh -c 'mount --bind "$1/resolv.conf" /etc/resolv.conf &&
		mount --bind "$1/hosts" /etc/hosts && shift && exec "$@"' sh "$TMP" "$NANO" "$@"
}

start_mcs() {
	in_ns "$1" mcs --insecure --listen $NET.1:5683 --ae coap://$NET.9:5683 --ug "$2" \
		--bs "" --bs-room "" --pd-room "" --mrs "" --watch 1s --retry-max 1s --timeout 1s
}

# ug_is STATE: mcs's /health says so of ug
ug_is() {
	nano coap get $MCS/health >h &&
	test "$(/usr/bin/python3 -c "import json; print(json.load(open(\"h\"))[\"peers\"][\"ug\"][\"state\"])")" = "$1"
}

# health_fast: GET /health answered within 300 ms
health_fast() {
	t0=$(date +%s%N) &&
	nano coap -t 1 get $MCS/health >h &&
	t1=$(date +%s%N) &&
	ms=$(( (t1 - t0) / 1000000 )) &&
	{ [ "$ms" -lt 300 ] || { echo "/health took $ms ms"; false; }; }
}

test_expect_success 'setup: a DNS server that never answers' '
	printf "nameserver %s\noptions timeout:3 attempts:1\n" $DNS >resolv.conf &&
	echo "127.0.0.1 localhost" >hosts &&
	: >queries &&
	start_bg dns /usr/bin/python3 "$TEST_DIR/dns-silent.py" $DNS "$TMP/queries" &&
	start_mcs mcs coap://nowhere.example:5683 &&
	wait_for_health $MCS &&
	wait_until "grep -q nowhere.example queries"
'

test_expect_success 'mcs answers /health within 300 ms while the lookups hang' '
	i=0 &&
	while [ $i -lt 25 ]; do
		health_fast || return 1
		sleep 0.2
		i=$((i + 1))
	done &&
	test $(grep -c nowhere.example queries) -ge 2
'

test_expect_success '/health shows ug down: its name does not resolve' '
	ug_is down &&
	grep "peer=ug uri=coap://nowhere.example:5683 down (cannot resolve .nowhere.example.: no answer yet)" mcs.log
'

test_expect_success 'the name resolves: ug is reached' '
	start_bg ug nano ug --insecure --listen $NET.2:5683 --leds sim:1,2,3,4 --route R1=1,2,3 &&
	wait_for_health coap://$NET.2 &&
	echo "$NET.2 nowhere.example" >>hosts &&
	wait_until "ug_is up" 200 &&
	health_fast &&
	! grep "restarted" mcs.log &&
	stop_cleanly mcs ug
'

test_expect_success 'SIGTERM while a lookup hangs: mcs exits at once' '
	start_mcs mcs2 coap://elsewhere.example:5683 &&
	wait_for_health $MCS &&
	wait_until "grep -q elsewhere.example queries" &&
	t0=$(date +%s%N) &&
	stop_cleanly mcs2 &&
	t1=$(date +%s%N) &&
	ms=$(( (t1 - t0) / 1000000 )) &&
	echo "stopped in $ms ms" &&
	test $ms -lt 1000
'

test_done
