#!/bin/sh
# Meetings: create, read, delete; their invitations; their content up to
# 1 MiB, fetched block-wise (RFC 7959) by nano coap and by libcoap's
# coap-client with 64-byte blocks; a refused request changes nothing.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
Q="'"

dump() { sqlite3 ae.db .dump; }
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
S=$(at '+1 hour')
E=$(at '+2 hours')

# meeting ID [EXTRA-FIELDS]: a meeting body in R1 from S to E.
meeting() {
	printf '{"id":"%s","title":"Kickoff","room":"R1","start":"%s","end":"%s"%s}' "$1" "$S" "$E" "${2:-}"
}


test_expect_success 'setup: ae with three participants' '
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	nano coap post $AE/participants "{\"id\":\"alice\",\"name\":\"Alice\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" &&
	nano coap post $AE/participants "{\"id\":\"bob\",\"name\":\"Bob\",\"ble\":\"AA:BB:CC:DD:EE:02\"}" &&
	nano coap post $AE/participants "{\"id\":\"carl\",\"name\":\"Carl\",\"ble\":\"AA:BB:CC:DD:EE:03\"}"
'

test_expect_success 'POST /meetings is 2.01; the organizer is invited too' '
	nano coap -v post $AE/meetings "$(meeting m1 ",\"building\":\"HQ\",\"organizer\":\"alice\",\"participants\":[\"bob\",\"carl\"],\"content\":\"# Kickoff\"")" >out 2>err &&
	grep "^2.01" err &&
	test "$(cat out)" = "{\"id\":\"m1\",\"title\":\"Kickoff\",\"room\":\"R1\",\"building\":\"HQ\",\"organizer\":\"alice\",\"start\":\"$S\",\"end\":\"$E\",\"content_format\":0,\"content_bytes\":9,\"participants\":[\"alice\",\"bob\",\"carl\"]}"
'

test_expect_success 'times in any RFC 3339 offset are stored as UTC' '
	nano coap post $AE/meetings "{\"id\":\"m2\",\"title\":\"Later\",\"room\":\"R2\",\"start\":\"2030-01-02T10:00:00+02:00\",\"end\":\"2030-01-02T11:30:00.250+02:00\"}" >out &&
	grep "\"start\":\"2030-01-02T08:00:00Z\",\"end\":\"2030-01-02T09:30:00.250Z\"" out &&
	grep "\"participants\":\\[\\]" out
'

test_expect_success 'GET /meetings/<id> is 2.05; GET /meetings lists them by start' '
	nano coap -v get $AE/meetings/m1 >out 2>err &&
	grep "^2.05" err && grep "\"id\":\"m1\"" out &&
	nano coap get $AE/meetings >out &&
	grep "^{\"meetings\":\\[{\"id\":\"m1\".*{\"id\":\"m2\"" out
'

test_expect_success 'unknown meetings are 4.04 for GET, DELETE and content' '
	for m in "get $AE/meetings/nope" "delete $AE/meetings/nope" "get $AE/meetings/nope/content"; do
		test_expect_code 1 nano coap -v $m >out 2>err &&
		grep -q "^4.04" err && grep -q "no meeting .nope." out || return 1
	done
'

test_expect_success 'other paths and methods under /meetings/<id>' '
	test_expect_code 1 nano coap -v get $AE/meetings/m1/other 2>err && grep "^4.04" err &&
	test_expect_code 1 nano coap -v get $AE/meetings/m1/content/x 2>err && grep "^4.04" err &&
	test_expect_code 1 nano coap -v delete $AE/meetings/m1/content 2>err && grep "^4.05" err &&
	test_expect_code 1 nano coap -v post $AE/meetings/m1 "{}" 2>err && grep "^4.05" err &&
	test_expect_code 1 nano coap -v put $AE/meetings/m1 "{}" 2>err && grep "^4.05" err
'

test_expect_success 'a duplicate meeting id is 4.09 and changes nothing' '
	dump >before &&
	test_expect_code 1 nano coap -v post $AE/meetings "$(meeting m1)" >out 2>err &&
	grep "^4.09" err && grep "meeting .m1. exists" out &&
	dump >after && test_cmp before after
'

test_expect_success 'unknown organizer or participant is 4.00 and changes nothing' '
	dump >before &&
	test_expect_code 1 nano coap -v post $AE/meetings "$(meeting m3 ",\"organizer\":\"zoe\"")" >out 2>err &&
	grep "^4.00" err && grep "unknown organizer .zoe." out &&
	test_expect_code 1 nano coap -v post $AE/meetings "$(meeting m3 ",\"participants\":[\"bob\",\"zoe\"]")" >out 2>err &&
	grep "^4.00" err && grep "unknown participant .zoe." out &&
	dump >after && test_cmp before after
'

test_expect_success 'bad meeting bodies are 4.00 and change nothing' '
	dump >before &&
	for body in "{\"id\":\"m3\"}" \
		"$(meeting m3 ",\"content\":42")" \
		"$(meeting m3 ",\"participants\":\"bob\"")" \
		"$(meeting m3 ",\"participants\":[1]")" \
		"$(meeting m3 ",\"building\":7")" \
		"{\"id\":\"m3\",\"title\":\"T\",\"room\":\"R\",\"start\":\"$E\",\"end\":\"$S\"}" \
		"{\"id\":\"m3\",\"title\":\"T\",\"room\":\"R\",\"start\":\"$S\",\"end\":\"$S\"}" \
		"{\"id\":\"m3\",\"title\":\"T\",\"room\":\"R\",\"start\":\"tomorrow\",\"end\":\"$E\"}" \
		"{\"id\":\"m3\",\"title\":\"T\",\"room\":\"R\",\"start\":\"2030-02-30T10:00:00Z\",\"end\":\"$E\"}" \
		"{\"id\":\"m3\",\"title\":\"T\",\"room\":\"R\",\"start\":1700000000,\"end\":\"$E\"}" \
		"{\"id\":\"m3\",\"title\":\"\",\"room\":\"R\",\"start\":\"$S\",\"end\":\"$E\"}" \
		"{\"id\":\"m 3\",\"title\":\"T\",\"room\":\"R\",\"start\":\"$S\",\"end\":\"$E\"}"
	do
		test_expect_code 1 nano coap -v post $AE/meetings "$body" >out 2>err </dev/null &&
		grep -q "^4.00" err && grep -q "\"error\":" out || { echo "body: $body"; cat err out; return 1; }
	done &&
	dump >after && test_cmp before after
'

test_expect_success 'a meeting without content serves an empty body' '
	nano coap -v get $AE/meetings/m2/content >out 2>err &&
	grep "^2.05" err && test ! -s out
'

# 300,000 bytes of markdown: 5,000 lines of 60 bytes.
awk 'BEGIN { for (i = 1; i <= 5000; i++) printf "%-59.59s\n", "- item " i " of the agenda, with notes for everybody" }' >content.md
{
	printf '{"id":"big","title":"Big","room":"R2","start":"%s","end":"%s","content":"' "$S" "$E"
	awk '{ printf "%s\\n", $0 }' content.md
	printf '"}'
} >big.json

test_expect_success 'a 300 KB content goes up block-wise and is stored whole' '
	test "$(wc -c <content.md)" = 300000 &&
	nano coap -t 30 post $AE/meetings - <big.json >out &&
	grep "\"content_bytes\":300000" out &&
	sqlite3 ae.db "SELECT writefile(${Q}stored.md${Q}, content) FROM meetings WHERE id = ${Q}big${Q}" &&
	cmp content.md stored.md
'

test_expect_success 'nano coap fetches the 300 KB content block-wise' '
	nano coap -t 30 get $AE/meetings/big/content >got.md &&
	cmp content.md got.md
'

test_expect_success COAP_CLIENT 'coap-client -b 64 fetches the 300 KB content (text/plain)' '
	coap-client-notls -B 60 -m get -b 64 $AE/meetings/big/content >cc.md &&
	test "$(wc -c <cc.md)" -ge 300000 &&
	head -c 300000 cc.md | cmp - content.md &&
	coap-client-notls -B 5 -v 6 -m get $AE/meetings/m1/content >log 2>&1 &&
	grep "c:2.05.*Content-Format:text/plain" log
'

test_expect_success 'JSON content is stored as JSON and served as application/json (50)' '
	nano coap post $AE/meetings "$(meeting mj ",\"content\":{\"slides\":[\"intro\",\"plan\"],\"minutes\":15}")" >out &&
	grep "\"content_format\":50" out &&
	test "$(nano coap get $AE/meetings/mj/content)" = "{\"slides\":[\"intro\",\"plan\"],\"minutes\":15}"
'

test_expect_success COAP_CLIENT 'coap-client sees the JSON content as application/json' '
	coap-client-notls -B 5 -v 6 -m get $AE/meetings/mj/content >log 2>&1 &&
	grep "c:2.05.*Content-Format:application/json" log
'

test_expect_success 'exactly 1 MiB of content is accepted' '
	{ printf "{\"id\":\"mib\",\"title\":\"T\",\"room\":\"R\",\"start\":\"%s\",\"end\":\"%s\",\"content\":\"" "$S" "$E" &&
	  head -c 1048576 /dev/zero | tr "\0" "x" && printf "\"}"; } >mib.json &&
	nano coap -t 60 post $AE/meetings - <mib.json >out &&
	grep "\"content_bytes\":1048576" out &&
	nano coap -t 60 get $AE/meetings/mib/content >got &&
	test "$(wc -c <got)" = 1048576
'

test_expect_success 'content over 1 MiB is 4.13, a body over the limit too; nothing changes' '
	dump >before &&
	{ printf "{\"id\":\"toobig\",\"title\":\"T\",\"room\":\"R\",\"start\":\"%s\",\"end\":\"%s\",\"content\":\"" "$S" "$E" &&
	  head -c 1048577 /dev/zero | tr "\0" "x" && printf "\"}"; } >over.json &&
	test_expect_code 1 nano coap -v -t 60 post $AE/meetings - <over.json >out 2>err &&
	grep "^4.13" err && grep "exceeds the limit" out &&
	head -c 7000000 /dev/zero | tr "\0" "x" >huge &&
	test_expect_code 1 nano coap -v -t 60 post $AE/meetings - <huge >out 2>err &&
	grep "^4.13" err &&
	dump >after && test_cmp before after
'

test_expect_success 'DELETE is 2.02; the meeting, its content and invitations are gone' '
	nano coap -v delete $AE/meetings/m1 2>err &&
	grep "^2.02" err &&
	test_expect_code 1 nano coap get $AE/meetings/m1 &&
	test_expect_code 1 nano coap get $AE/meetings/m1/content &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM invitations WHERE meeting = ${Q}m1${Q}")" = 0 &&
	sqlite3 ae.db "SELECT detail FROM events WHERE kind = ${Q}meeting${Q} AND meeting = ${Q}m1${Q} ORDER BY id" >out &&
	printf "created\ndeleted\n" >expect && test_cmp expect out
'

test_expect_success COAP_CLIENT 'coap-client: 2.01, 2.05, 4.09, 2.02, 4.04' '
	coap-client-notls -B 5 -v 6 -m post -t json -e "$(meeting cc1)" $AE/meetings >log 2>&1 &&
	grep "t:ACK c:2.01" log &&
	coap-client-notls -B 5 -v 6 -m get $AE/meetings/cc1 >log 2>&1 && grep "t:ACK c:2.05" log &&
	coap-client-notls -B 5 -v 6 -m post -t json -e "$(meeting cc1)" $AE/meetings >log 2>&1 &&
	grep "t:ACK c:4.09" log &&
	coap-client-notls -B 5 -v 6 -m delete $AE/meetings/cc1 >log 2>&1 && grep "t:ACK c:2.02" log &&
	coap-client-notls -B 5 -v 6 -m get $AE/meetings/cc1 >log 2>&1 && grep "t:ACK c:4.04" log
'

test_expect_success 'ae stops cleanly' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
