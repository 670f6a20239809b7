#!/bin/sh
# What answers held for block-wise fetching may cost a role.  libcoap
# keeps an answer that takes more than one datagram, whole, until the
# client has fetched it and 8 s more, or 93 s when the client stops
# asking.  A client that asks for a 66 KB list again and again, each time
# under a Request-Tag of its own and never for block 1, used to grow ae
# by 66 KB an ask.  Now at most --max-held answers (4,096; 64 here) or
# 16 MB wait, and a quarter of either for one client; past that an
# answer that may take blocks is 5.03 with Max-Age, small answers still
# go out, and ae refuses a /auth whose answer may not fit one datagram
# before it decides, so that no decision is logged and not answered.
. "$(dirname "$0")/lib.sh"

RAW="python3 $TEST_DIR/coap-raw.py"
AE=coap://$NET.1

test_lazy_prereq PYTHON3 'command -v python3' 'python3'
skip_all_unless PYTHON3

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
	test "$(stat_of $AE held_answers)" -ge 1
'


# held_ok N PATH: N asks from a client of its own; how many were answered
held_ok() {
	$RAW $NET.1 5683 held "$2" $1 >out &&
	cat out >&2 &&
	grep "^ok=[0-9]* busy=[0-9]* other=0 max_age=[-0-9]*$" out &&
	sed -n "s/^ok=\([0-9]*\) .*/\1/p" out >ok
}

test_expect_success 'one client asking for answers of two blocks holds a quarter: 16 of 64' '
	nano coap get "$AE/events?since=0&limit=9" >events &&
	test "$(wc -c <events)" -gt 1100 && test "$(wc -c <events)" -lt 2048 &&
	before=$(stat_of $AE held_answers) &&
	held_ok 100 "events?since=0&limit=9" &&
	test "$(cat ok)" = 16 &&
	grep " busy=84 .* max_age=2$" out &&
	test "$(stat_of $AE held_answers)" = $((before + 16))
'

test_expect_success 'other clients still get theirs, up to --max-held 64 in all' '
	for c in 1 2 3 4; do
		held_ok 20 "events?since=0&limit=9" && test "$(cat ok)" -le 16 || return 1
	done &&
	test "$(stat_of $AE held_answers)" = 64
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
	test "$(stat_of $AE held_answers)" = 0
'

test_expect_success '1,200 asks for a 66 KB list never fetched: 4 MB for one client' '
	held_ok 1200 "participants?limit=1000" &&
	ok=$(cat ok) &&
	test "$ok" -ge 60 && test "$ok" -le 63 &&
	grep " busy=$((1200 - ok)) .* max_age=2$" out &&
	test "$(stat_of $AE refused_held)" = $((1200 - ok))
'

test_expect_success 'and 16 MB for all: five more clients, about 250 lists held' '
	total=$(cat ok) &&
	for c in 1 2 3 4 5; do
		held_ok 100 "participants?limit=1000" && total=$((total + $(cat ok))) || return 1
	done &&
	echo "# $total lists held" &&
	test "$total" -gt 240 && test "$total" -le 254 &&
	test "$(stat_of $AE held_kb)" -le 16384 &&
	held=$(stat_of $AE held_answers) && test "$held" -ge "$total" && test "$held" -le $((total + 1))
'

# Not under make check: ASan keeps freed memory in quarantine (256 MB),
# and every refused answer was made, then freed.
test_expect_success STATIC 'and ae stays small' '
	rss=$(stat_of $AE rss_kb) && echo "# rss $rss KB" &&
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
