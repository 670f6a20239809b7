#!/bin/sh
# Group commit: under load, the /auth requests of one loop turn are
# decided in one transaction and answered after it commits.  Sixteen
# clients ask at once, each request about an address of its own: ae
# groups them (/stats), every answer is the decision its event row holds,
# and a kill -9 mid-stream loses no answered decision.  Every answer,
# grouped or not, goes out piggybacked on the request's ACK: no empty ACK
# and no separate response.  --group-commit on is the default (auto, the
# old default, is the same); off never groups.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
# {mac} is the request number as an address: one decision a request
BODY='{"ble":["{mac}"],"location":"entrance"}'

# start_ae SYNC [GROUP]: GROUP is --group-commit's value (on)
start_ae() {
	start_bg ae "$NANO" ae --db $TMP/db/ae.db --backup-dir $TMP/db/bk --sync $1 \
		--group-commit ${2:-on} --events-keep 1000000 --listen $NET.1:5683 --log-level warn &&
	wait_for_health $AE
}

# acked_addresses FILE: the address of every request answered 2.xx
acked_addresses() {
	sed -n 's/.*"ble":\["\([0-9A-F:]*\)"\].*/\1/p' "$1" | sort -u
}

# logged_addresses: the address of every auth event in the database
logged_addresses() {
	sqlite3 db/ae.db "SELECT ble FROM events WHERE kind = 'auth'" | sort -u
}

test_lazy_prereq COAPLOAD 'test -x "$COAPLOAD"' 'bench/coapload: run through make test'
skip_all_unless COAPLOAD

test_expect_success 'a request alone is answered at once, in no group' '
	start_ae normal &&
	nano coap post $AE/auth "{\"ble\":[\"02:00:00:00:00:01\"],\"location\":\"entrance\"}" >out &&
	grep "\"denied\":\[\"02:00:00:00:00:01\"\]" out &&
	nano coap get $AE/stats >stats &&
	grep "\"grouped_requests\":0," stats &&
	grep "\"group_commits\":0," stats
'

test_expect_success 'sixteen clients at once: decisions are grouped' '
	"$COAPLOAD" -c 16 -d 2s -p "$BODY" -o acked.raw $AE/auth >load.out &&
	cat load.out &&
	grep " errors=0 timeouts=0 " load.out &&
	nano coap get $AE/stats >stats &&
	grouped=$(sed -n "s/.*\"grouped_requests\":\([0-9]*\).*/\1/p" stats) &&
	commits=$(sed -n "s/.*\"group_commits\":\([0-9]*\).*/\1/p" stats) &&
	echo "# $grouped requests in $commits group commits" &&
	test "$grouped" -gt 0 &&
	test "$commits" -lt "$grouped"
'

test_expect_success 'every answered decision is one committed event row' '
	acked_addresses acked.raw >acked &&
	test "$(wc -l <acked)" -gt 100 &&
	logged_addresses >logged &&
	comm -23 acked logged >lost &&
	test ! -s lost &&
	decisions=$(sed -n "s/.*\"decisions\":\([0-9]*\).*/\1/p" stats) &&
	test "$decisions" = "$(sqlite3 db/ae.db "SELECT count(*) FROM events WHERE kind = '"'auth'"'")"
'

test_lazy_prereq PYTHON3 'command -v python3' 'python3'

# burst_grouped: 32 requests sent at once until some were grouped (the
# loop may wake between two of them); their answers as coap-raw.py says
burst_grouped() {
	before=$(stat_of $AE grouped_requests)
	for try in 1 2 3 4 5 6 7 8 9 10; do
		python3 "$TEST_DIR/coap-raw.py" $NET.1 5683 burst auth 32 \
			"{\"ble\":[\"04:00:00:00:00:$(printf %02X $try)\"],\"location\":\"entrance\"}" >burst.out || return 1
		now=$(stat_of $AE grouped_requests)
		[ "$now" -gt "$before" ] && return 0
		before=$now
	done
	echo "no burst was grouped" >&2
	return 1
}

test_expect_success PYTHON3 'grouped answers go out on each request'"'"'s ACK, no empty ACK first' '
	burst_grouped &&
	cat burst.out &&
	grep "^answers=32 piggybacked=32 empty_acks=0 separate=0 block2=0 codes=2.05:32$" burst.out
'

test_expect_success 'writes and reads between grouped decisions are served' '
	"$COAPLOAD" -c 16 -d 3s -p "$BODY" $AE/auth >load.out &
	load=$! &&
	sleep 0.5 &&
	i=0 &&
	while [ $i -lt 20 ]; do
		i=$((i + 1)) &&
		nano coap post $AE/participants "{\"id\":\"w$i\",\"name\":\"W $i\",\"ble\":\"03:00:00:00:00:$(printf %02X $i)\"}" >/dev/null &&
		nano coap get "$AE/events?since=0&limit=10" >/dev/null || break
	done &&
	wait $load &&
	test $i = 20 &&
	grep " errors=0 timeouts=0 " load.out &&
	test "$(sqlite3 db/ae.db "SELECT count(*) FROM participants")" = 20 &&
	stop_bg ae && test "$ae_status" = 0
'

# grouped SYNC GROUP: how many requests sixteen clients had grouped
grouped() {
	rm -rf db &&
	start_ae $1 $2 &&
	"$COAPLOAD" -c 16 -d 1s -p "$BODY" $AE/auth >load.out &&
	grep " errors=0 timeouts=0 " load.out &&
	nano coap get $AE/stats >stats &&
	stop_bg ae && test "$ae_status" = 0 &&
	sed -n "s/.*\"grouped_requests\":\([0-9]*\).*/\1/p" stats
}

test_expect_success '--group-commit on (the default) and auto group with both syncs, off never' '
	test "$(grouped normal on | tail -n 1)" -gt 0 &&
	test "$(grouped normal auto | tail -n 1)" -gt 0 &&
	test "$(grouped full auto | tail -n 1)" -gt 0 &&
	test "$(grouped full off | tail -n 1)" = 0 &&
	grep "\"group_commit\":false" stats &&
	test_expect_code 2 nano ae --insecure --group-commit sometimes 2>err &&
	grep "group-commit must be on or off" err
'

# crash_run SYNC: kill -9 while sixteen clients ask; every decision that
# was answered is in the database after a restart.
crash_run() {
	rm -rf db acked.raw
	start_ae $1 || return 1
	"$COAPLOAD" -c 16 -d 4s -p "$BODY" -o acked.raw $AE/auth >load.out &
	load=$!

	sleep 1.5 &&
	stop_bg ae KILL &&
	test "$ae_status" = 137 &&
	{ wait $load; true; } &&
	acked_addresses acked.raw >acked &&
	echo "# $(wc -l <acked) answered before the kill" &&
	test "$(wc -l <acked)" -gt 50 &&
	start_ae $1 &&
	! grep RESTORED ae.log &&
	logged_addresses >logged &&
	comm -23 acked logged >lost &&
	test ! -s lost &&
	test "$(sqlite3 db/ae.db "PRAGMA integrity_check")" = ok &&
	stop_bg ae && test "$ae_status" = 0
}

test_expect_success 'kill -9 under load with --sync normal loses no answered decision' '
	crash_run normal
'

test_expect_success 'kill -9 under load with --sync full loses no answered decision' '
	crash_run full
'

test_expect_success 'no sanitizer reports' '
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
