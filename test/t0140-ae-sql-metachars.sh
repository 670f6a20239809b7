#!/bin/sh
# SQL metacharacters in every field: values are bound, never spliced into
# SQL, so they are stored and returned byte for byte, or refused with 4.00
# where the field has a format (addresses, times, query numbers, rooms,
# buildings and locations); the tables survive either way.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1

dump() { sqlite3 ae.db .dump; }
tables() { sqlite3 ae.db "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)"; }
S=$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)
E=$(date -u -d '+55 min' +%Y-%m-%dT%H:%M:%SZ)

# Ids may hold ' ( ) ; = * , - (they travel in URIs, so no spaces).
PID="o'neil');DROP(participants);--"
MID="m');DELETE(meetings)*1=1;--"
cat >participant.json <<'EOF'
{"id":"o'neil');DROP(participants);--","name":"Robert'); DROP TABLE participants; -- \"Bobby\" \\ % _ * `x` $(id)","ble":"AA:BB:CC:DD:EE:21"}
EOF
cat >meeting.json <<EOF
{"id":"$MID","title":"T'; DROP TABLE meetings; --","room":"R1","building":"B-1","organizer":"$PID","start":"$S","end":"$E","participants":["$PID"],"content":"'; UPDATE participants SET name='pwned' WHERE '1'='1'; --"}
EOF
LOCATION=B-1

test_expect_success 'setup: ae on a new database' '
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	tables >tables.expect &&
	test "$(cat tables.expect)" = "events identities invitations meetings participants"
'

test_expect_success 'a participant with metacharacters in id and name round-trips' '
	nano coap post $AE/participants - <participant.json >out &&
	printf "%s" "$(cat participant.json)" >expect &&
	test_cmp expect out &&
	nano coap get "$AE/participants/$PID" >out &&
	test_cmp expect out &&
	test "$(sqlite3 ae.db "SELECT id FROM participants")" = "$PID" &&
	sqlite3 ae.db "SELECT name FROM participants" | grep -F "DROP TABLE participants; -- \"Bobby\" \\ % _ * \`x\` \$(id)"
'

test_expect_success 'a meeting with metacharacters in its ids, title and content round-trips' '
	nano coap post $AE/meetings - <meeting.json >out &&
	grep -F "\"title\":\"T'"'"'; DROP TABLE meetings; --\"" out &&
	grep -F "\"organizer\":\"$PID\"" out &&
	grep -F "\"participants\":[\"$PID\"]" out &&
	nano coap get "$AE/meetings/$MID/content" >content &&
	printf "%s" "'"'"'; UPDATE participants SET name='"'"'pwned'"'"' WHERE '"'"'1'"'"'='"'"'1'"'"'; --" >expect &&
	test_cmp expect content &&
	! sqlite3 ae.db "SELECT name FROM participants" | grep pwned
'

test_expect_success 'auth grants the metacharacter ids, by the building rule' '
	printf "{\"ble\":[\"AA:BB:CC:DD:EE:21\"],\"location\":\"%s\"}" "$LOCATION" >auth.json &&
	nano coap post $AE/auth - <auth.json >out &&
	grep -F "\"participant\":\"$PID\"" out &&
	grep -F "\"meeting\":\"$MID\"" out &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM events WHERE kind = '"'"'auth'"'"'")" = 1 &&
	test "$(sqlite3 ae.db "SELECT participant FROM events WHERE kind = '"'"'auth'"'"'")" = "$PID"
'

test_expect_success 'fields with a format refuse metacharacters with 4.00; nothing changes' '
	dump >before &&
	for body in \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:01'"'"'--\"}" \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:31\",\"irk\":\"'"'"'; DROP TABLE x; --\"}" \
		"{\"id\":\"x y'"'"'; DROP TABLE participants; --\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:31\"}"
	do
		test_expect_code 1 nano coap -v post $AE/participants "$body" >out 2>err &&
		grep -q "^4.00" err || { echo "$body"; cat err out; return 1; }
	done &&
	for body in \
		"{\"id\":\"m2\",\"title\":\"T\",\"room\":\"R\",\"start\":\"$S'"'"'; DROP TABLE meetings; --\",\"end\":\"$E\"}" \
		"{\"id\":\"m2\",\"title\":\"T\",\"room\":\"R\",\"start\":\"$S\",\"end\":\"$E\",\"organizer\":\"x'"'"' OR 1=1 --\"}" \
		"{\"id\":\"m2\",\"title\":\"T\",\"room\":\"R\",\"start\":\"$S\",\"end\":\"$E\",\"participants\":[\"a'"'"' OR '"'"'1'"'"'='"'"'1\"]}" \
		"{\"id\":\"m2\",\"title\":\"T\",\"room\":\"R1'"'"' OR '"'"'1'"'"'='"'"'1\",\"start\":\"$S\",\"end\":\"$E\"}" \
		"{\"id\":\"m2\",\"title\":\"T\",\"room\":\"R\",\"building\":\"B\\\"; DELETE FROM events; --\",\"start\":\"$S\",\"end\":\"$E\"}"
	do
		test_expect_code 1 nano coap -v post $AE/meetings "$body" >out 2>err &&
		grep -q "^4.00" err || { echo "$body"; cat err out; return 1; }
	done &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"ble\":[\"AA:BB:CC:DD:EE:21'"'"'); DROP TABLE events; --\"],\"location\":\"x\"}" 2>err &&
	grep "^4.00" err &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"ble\":[\"AA:BB:CC:DD:EE:21\"],\"location\":\"B\\\"; DELETE FROM events; --\"}" 2>err &&
	grep "^4.00" err &&
	test_expect_code 1 nano coap -v get "$AE/events?since=0;DROP(events)" 2>err &&
	grep "^4.00" err &&
	test_expect_code 1 nano coap -v get "$AE/events?limit=1%20OR%201=1" 2>err &&
	grep "^4.00" err &&
	dump >after && test_cmp before after
'

test_expect_success 'unknown ids with metacharacters in the URI are 4.04 and change nothing' '
	dump >before &&
	test_expect_code 1 nano coap -v get "$AE/participants/x'"'"'OR'"'"'1'"'"'='"'"'1" 2>err && grep "^4.04" err &&
	test_expect_code 1 nano coap -v delete "$AE/participants/*" 2>err && grep "^4.04" err &&
	test_expect_code 1 nano coap -v delete "$AE/meetings/m'"'"');DELETE(meetings);--" 2>err && grep "^4.04" err &&
	dump >after && test_cmp before after
'

test_expect_success 'PUT and DELETE by metacharacter ids work on exactly that row' '
	nano coap post $AE/participants "{\"id\":\"plain\",\"name\":\"Plain\",\"ble\":\"AA:BB:CC:DD:EE:22\"}" &&
	nano coap -v put "$AE/participants/$PID" "{\"name\":\"a'"'"'b\",\"ble\":\"AA:BB:CC:DD:EE:21\"}" 2>err &&
	grep "^2.04" err &&
	nano coap get $AE/participants/plain | grep "\"name\":\"Plain\"" &&
	nano coap -v delete "$AE/meetings/$MID" 2>err && grep "^2.02" err &&
	nano coap -v delete "$AE/participants/$PID" 2>err && grep "^2.02" err &&
	test "$(sqlite3 ae.db "SELECT group_concat(id) FROM participants")" = plain &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM meetings")" = 0
'

test_expect_success 'the tables are all still there' '
	tables >tables.now &&
	test_cmp tables.expect tables.now &&
	test "$(sqlite3 ae.db "PRAGMA integrity_check")" = ok
'

test_expect_success 'ae stops cleanly' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
