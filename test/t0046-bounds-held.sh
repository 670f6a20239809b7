#!/bin/sh
# What answers held for block-wise fetching may cost a role.  libcoap
# keeps an answer that takes more than one datagram, whole, until the
# client has fetched it and 8 s more, or 93 s when the client stops
# asking.  A client that asks for a 66 KB list again and again, each time
# under a Request-Tag of its own and never for block 1, used to grow ae
# by 66 KB an ask.  Now at most --max-held answers (4,096; 64 here) or
# 16 MB wait; past that an
# answer that may take blocks is 5.03 with Max-Age, small answers still
# go out, and ae refuses a /auth whose answer may not fit one datagram
# before it decides, so that no decision is logged and not answered.
. "$(dirname "$0")/lib.sh"

RAW="python3 $TEST_DIR/coap-raw.py"
AE=coap://$NET.1

test_lazy_prereq PYTHON3 'command -v python3' 'python3'
skip_all_unless PYTHON3

# stat_of KEY: a number from ae's /stats
stat_of() {
	nano coap get "$AE/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# 1,000 participants (AA:BB:CC:DD:XX:XX); p0100 to p0107 are invited to a
# meeting on now.
make_seed() {
	awk -v s="$(at '-30 min')" -v e="$(at '+2 hours')" 'BEGIN {
		printf "{\"participants\":["
		for (i = 0; i < 1000; i++)
			printf "%s{\"id\":\"p%04d\",\"name\":\"Participant %d\",\"ble\":\"AA:BB:CC:DD:%02X:%02X\"}",
				(i ? "," : ""), i, i, int(i / 256), i % 256
		printf "],\"meetings\":[{\"id\":\"m1\",\"title\":\"Review\",\"room\":\"Room-101-East\","
		printf "\"organizer\":\"p0100\",\"start\":\"%s\",\"end\":\"%s\",\"participants\":[", s, e
		for (i = 101; i < 108; i++)
			printf "%s\"p%04d\"", (i > 101 ? "," : ""), i
		printf "]}]}\n"
	}' >seed.json
}

# start_ae [FLAGS]
start_ae() {
	start_bg ae "$NANO" ae --db $TMP/db/ae.db --backup-dir $TMP/db/bk --seed seed.json \
		--listen $NET.1:5683 --insecure "$@" &&
	wait_for_health $AE
}

test_expect_success 'setup: ae with 1,000 participants' '
	make_seed &&
	test_expect_code 2 nano ae --insecure --max-held 100001 2>err &&
	grep "max-held" err &&
	start_ae --max-held 64 &&
	nano coap get "$AE/participants?limit=1000" >list &&
	test "$(wc -c <list)" -gt 60000
'

EIGHT="{\"ble\":[$(for i in 64 65 66 67 68 69 6A 6B; do printf '"AA:BB:CC:DD:00:%s",' $i; done | sed 's/,$//')],\"location\":\"entrance\"}"

# auth_events: decisions logged so far
auth_events() {
	sqlite3 db/ae.db "SELECT count(*) FROM events WHERE kind = 'auth'"
}

test_expect_success 'an answer to /auth over one datagram is held for its client' '
	nano coap post $AE/auth "$EIGHT" >answer &&
	test "$(grep -o "\"participant\"" answer | wc -l)" = 8 &&
	size=$(wc -c <answer) && echo "# $size bytes" &&
	test "$size" -gt 1100 &&
	test "$(stat_of held_answers)" -ge 1
'



test_expect_success 'asks for answers of two blocks: at most --max-held 64 held' '
	nano coap get "$AE/events?since=0&limit=9" >events &&
	test "$(wc -c <events)" -gt 1100 && test "$(wc -c <events)" -lt 2048 &&
	$RAW $NET.1 5683 held "events?since=0&limit=9" 100 >out &&
	cat out &&
	grep "^ok=[0-9]* busy=[0-9]* other=0 max_age=2$" out &&
	test "$(stat_of held_answers)" = 64
'

test_expect_success 'then /auth of several addresses is 5.03 before deciding; of one, decided' '
	before=$(auth_events) &&
	test_expect_code 1 nano coap post $AE/auth "$EIGHT" >out &&
	grep "busy: .* try again later or with one address" out &&
	test "$(auth_events)" = "$before" &&
	nano coap post $AE/auth "{\"ble\":[\"AA:BB:CC:DD:00:65\"],\"location\":\"entrance\"}" >out &&
	grep "\"participant\":\"p0101\"" out &&
	test "$(auth_events)" = $((before + 1))
'

test_expect_success 'small answers still go out meanwhile' '
	nano coap get $AE/health >out &&
	grep "\"status\":\"ok\"" out &&
	nano coap get $AE/participants/p0001 >out &&
	grep "\"name\":\"Participant 1\"" out
'

test_expect_success 'ae again (--max-held 4096, the default), nothing held' '
	stop_bg ae && test "$ae_status" = 0 &&
	mv ae.log ae-1.log &&
	start_ae &&
	test "$(stat_of held_answers)" = 0
'

test_expect_success '1,200 asks for a 66 KB list never fetched: bounded, then 5.03' '
	$RAW $NET.1 5683 held "participants?limit=1000" 1200 >out &&
	cat out &&
	ok=$(sed -n "s/^ok=\([0-9]*\) .*/\1/p" out) &&
	busy=$(sed -n "s/.* busy=\([0-9]*\) .*/\1/p" out) &&
	test "$ok" -gt 200 && test "$ok" -le 260 &&
	test "$busy" = $((1200 - ok)) &&
	grep " max_age=2$" out &&
	test "$(stat_of held_kb)" -le 16384 &&
	held=$(stat_of held_answers) && test "$held" -ge "$ok" && test "$held" -le $((ok + 2)) &&
	test "$(stat_of refused_held)" = "$busy"
'

# Not under make check: ASan keeps freed memory in quarantine (256 MB),
# and every refused answer was made, then freed.
test_expect_success STATIC 'and ae stays small' '
	rss=$(stat_of rss_kb) && echo "# rss $rss KB" &&
	test "$rss" -lt "$(rss_max 32768)"
'

test_expect_success 'the refusal is logged, boundedly' '
	cat ae-1.log ae.log | grep "answer of [0-9]* bytes refused: [0-9]* block-wise answers ([0-9]* KB) wait" >refused &&
	test "$(wc -l <refused)" -lt 20
'

test_expect_success 'ae stops cleanly, its held answers freed' '
	stop_bg ae && test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|LeakSanitizer|runtime error" ae-1.log ae.log
'

test_done
