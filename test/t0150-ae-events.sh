#!/bin/sh
# GET /events?since=<id>&limit=<n>: the log oldest first, paged; a reader
# that follows "next" sees every event exactly once.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1

ids() { grep -o "\"id\":[0-9]*" "$1" | cut -d: -f2; }

test_expect_success 'setup: ae with 250 auth decisions in the log' '
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	i=0 && while [ $i -lt 5 ]; do
		list=$(j=0; sep=; while [ $j -lt 50 ]; do printf "%s\"AA:BB:CC:00:%02X:%02X\"" "$sep" $i $j; sep=,; j=$((j + 1)); done) &&
		nano coap post $AE/auth "{\"ble\":[$list],\"location\":\"entrance\"}" >/dev/null || return 1
		i=$((i + 1))
	done &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM events")" = 250
'

test_expect_success 'without a query: the first 100, oldest first, and more to come' '
	nano coap get $AE/events >out &&
	test "$(ids out | wc -l)" = 100 &&
	test "$(ids out | head -1)" = 1 &&
	test "$(ids out | tail -1)" = 100 &&
	grep "\"next\":100,\"more\":true}$" out
'

test_expect_success 'an event names its time, kind, location, address, decision, detail' '
	nano coap get "$AE/events?limit=1" >out &&
	grep "^{\"events\":\\[{\"id\":1,\"time\":\"20[0-9-]*T[0-9:.]*Z\",\"kind\":\"auth\",\"location\":\"entrance\",\"ble\":\"AA:BB:CC:00:00:00\",\"decision\":\"denied\",\"detail\":\"unknown address\"}\\]" out
'

test_expect_success 'since and limit page through the log' '
	nano coap get "$AE/events?since=100&limit=30" >out &&
	test "$(ids out | head -1)" = 101 &&
	test "$(ids out | wc -l)" = 30 &&
	grep "\"next\":130,\"more\":true" out
'

test_expect_success 'following next reads every event exactly once' '
	since=0 && : >all &&
	while :; do
		nano coap get "$AE/events?since=$since&limit=70" >page || return 1
		ids page >>all
		since=$(grep -o "\"next\":[0-9]*" page | cut -d: -f2)
		grep -q "\"more\":false" page && break
	done &&
	seq 1 250 >expect && test_cmp expect all &&
	test $since = 250
'

test_expect_success 'past the end: no events, next stays' '
	nano coap get "$AE/events?since=250" >out &&
	test "$(cat out)" = "{\"events\":[],\"next\":250,\"more\":false}" &&
	nano coap get "$AE/events?since=99999" >out &&
	test "$(cat out)" = "{\"events\":[],\"next\":99999,\"more\":false}"
'

test_expect_success 'limit up to 1000 in one (block-wise) answer' '
	nano coap get "$AE/events?limit=1000" >out &&
	test "$(ids out | wc -l)" = 250 &&
	test "$(wc -c <out)" -gt 20000
'

test_expect_success 'bad since or limit is 4.00 with the reason' '
	for q in "since=-1" "since=abc" "since=" "since=1x" "limit=0" "limit=1001" "limit=-5" \
		"limit=1e3" "since=99999999999999999999999"; do
		test_expect_code 1 nano coap -v get "$AE/events?$q" >out 2>err &&
		grep -q "^4.00" err && grep -q "must be an integer" out || { echo "$q"; cat err out; return 1; }
	done
'

test_expect_success COAP_CLIENT 'coap-client reads a page' '
	coap-client-notls -B 5 -m get "$AE/events?since=10&limit=2" >out &&
	grep "{\"id\":11," out && grep "{\"id\":12," out && grep "\"next\":12" out
'

test_expect_success 'ae stops cleanly' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
