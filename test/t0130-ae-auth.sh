#!/bin/sh
# POST /auth: who may enter now.  Unknown address, known but not invited,
# too early, ended, on now, the --early window, a mixed batch, case, the
# 64-address limit, bad input, and the building rule.  Every decision is
# one event row; a 4.xx changes nothing.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
Q="'"

dump() { sqlite3 ae.db .dump; }
auth_events() { sqlite3 ae.db "SELECT count(*) FROM events WHERE kind = 'auth'"; }
last_event() { sqlite3 ae.db "SELECT decision || '|' || coalesce(participant, '') || '|' || coalesce(meeting, '') || '|' || detail FROM events ORDER BY id DESC LIMIT 1"; }
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

person() {
	nano coap post $AE/participants "{\"id\":\"$1\",\"name\":\"$2\",\"ble\":\"$3\"}" >/dev/null
}
# meet ID ROOM START END BUILDING-OR-EMPTY INVITEES(JSON list body)
meet() {
	b=
	test -n "$5" && b=",\"building\":\"$5\""
	nano coap post $AE/meetings "{\"id\":\"$1\",\"title\":\"$1\",\"room\":\"$2\",\"start\":\"$(at "$3")\",\"end\":\"$(at "$4")\"$b,\"participants\":[$6]}" >/dev/null
}
auth() {
	nano coap post $AE/auth "{\"ble\":[$1],\"location\":\"${2:-entrance}\"}"
}

start_ae() {
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}

test_expect_success 'setup: the paper meeting on now, and others' '
	start_ae &&
	person alice Alice AA:BB:CC:DD:EE:01 &&
	person bob Bob AA:BB:CC:DD:EE:02 &&
	person carl Carl AA:BB:CC:DD:EE:03 &&
	person david David AA:BB:CC:DD:EE:04 &&
	person eve Eve AA:BB:CC:DD:EE:05 &&
	person frank Frank AA:BB:CC:DD:EE:06 &&
	person gina Gina AA:BB:CC:DD:EE:07 &&
	nano coap post $AE/meetings "{\"id\":\"kickoff\",\"title\":\"Kickoff\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$(at "-5 min")\",\"end\":\"$(at "+55 min")\",\"participants\":[\"bob\",\"carl\"]}" >/dev/null &&
	meet soon R2 "+10 min" "+70 min" "" "\"david\"" &&
	meet later R2 "+3 hours" "+4 hours" "" "\"gina\"" &&
	meet past R2 "-3 hours" "-1 hour" "" "\"frank\""
'

test_expect_success 'an unknown address is denied and logged' '
	n=$(auth_events) &&
	auth "\"AA:BB:CC:DD:EE:99\"" >out &&
	test "$(cat out)" = "{\"granted\":[],\"denied\":[\"AA:BB:CC:DD:EE:99\"]}" &&
	test "$(auth_events)" = $((n + 1)) &&
	test "$(last_event)" = "denied|||unknown address"
'

test_expect_success 'a participant on now is granted with name, meeting and room' '
	auth "\"AA:BB:CC:DD:EE:02\"" >out &&
	test "$(sed "s/,\"end\":\"[^\"]*\"//g" out)" = "{\"granted\":[{\"participant\":\"bob\",\"name\":\"Bob\",\"meeting\":\"kickoff\",\"room\":\"R1\",\"ble\":\"AA:BB:CC:DD:EE:02\"}],\"denied\":[]}" &&
	test "$(last_event)" = "granted|bob|kickoff|room R1" &&
	nano coap get $AE/meetings/kickoff >m &&
	test "$(/usr/bin/python3 -c "import json; print(json.load(open(\"out\"))[\"granted\"][0][\"end\"] == json.load(open(\"m\"))[\"end\"])")" = True
'

test_expect_success 'the organizer is let in to her own meeting' '
	auth "\"AA:BB:CC:DD:EE:01\"" >out &&
	grep "\"participant\":\"alice\",\"name\":\"Alice\",\"meeting\":\"kickoff\"" out
'

test_expect_success 'known but not invited is denied, and why is logged' '
	auth "\"AA:BB:CC:DD:EE:05\"" >out &&
	test "$(cat out)" = "{\"granted\":[],\"denied\":[\"AA:BB:CC:DD:EE:05\"]}" &&
	test "$(last_event)" = "denied|eve||not invited to any meeting"
'

test_expect_success 'too early is denied (the meeting in 3 hours)' '
	auth "\"AA:BB:CC:DD:EE:07\"" >out &&
	grep "\"denied\":\\[\"AA:BB:CC:DD:EE:07\"\\]" out &&
	last_event | grep "^denied|gina||too early: meeting .later. admits from "
'

test_expect_success 'a meeting that ended lets nobody in' '
	auth "\"AA:BB:CC:DD:EE:06\"" >out &&
	grep "\"denied\":\\[\"AA:BB:CC:DD:EE:06\"\\]" out &&
	test "$(last_event)" = "denied|frank||meeting ended"
'

test_expect_success 'within --early (default 15 min) before the start is granted' '
	auth "\"AA:BB:CC:DD:EE:04\"" >out &&
	grep "\"participant\":\"david\",\"name\":\"David\",\"meeting\":\"soon\",\"room\":\"R2\"" out
'

test_expect_success 'with --early 5m the same participant is too early' '
	stop_bg ae &&
	start_ae --early 5m &&
	auth "\"AA:BB:CC:DD:EE:04\"" >out &&
	grep "\"granted\":\\[\\],\"denied\":\\[\"AA:BB:CC:DD:EE:04\"\\]" out &&
	last_event | grep "^denied|david||too early: meeting .soon." &&
	stop_bg ae && start_ae
'

test_expect_success 'a mixed batch: one decision and one event per address, in order' '
	n=$(auth_events) &&
	auth "\"AA:BB:CC:DD:EE:99\",\"AA:BB:CC:DD:EE:03\",\"AA:BB:CC:DD:EE:05\",\"AA:BB:CC:DD:EE:01\",\"AA:BB:CC:DD:EE:07\"" >out &&
	test "$(sed "s/,\"end\":\"[^\"]*\"//g" out)" = "{\"granted\":[{\"participant\":\"carl\",\"name\":\"Carl\",\"meeting\":\"kickoff\",\"room\":\"R1\",\"ble\":\"AA:BB:CC:DD:EE:03\"},{\"participant\":\"alice\",\"name\":\"Alice\",\"meeting\":\"kickoff\",\"room\":\"R1\",\"ble\":\"AA:BB:CC:DD:EE:01\"}],\"denied\":[\"AA:BB:CC:DD:EE:99\",\"AA:BB:CC:DD:EE:05\",\"AA:BB:CC:DD:EE:07\"]}" &&
	test "$(auth_events)" = $((n + 5)) &&
	sqlite3 ae.db "SELECT ble, decision FROM events WHERE kind = ${Q}auth${Q} ORDER BY id DESC LIMIT 5" >got &&
	cat >expect <<-EOF &&
	AA:BB:CC:DD:EE:07|denied
	AA:BB:CC:DD:EE:01|granted
	AA:BB:CC:DD:EE:05|denied
	AA:BB:CC:DD:EE:03|granted
	AA:BB:CC:DD:EE:99|denied
	EOF
	test_cmp expect got &&
	sqlite3 ae.db "SELECT DISTINCT location FROM events WHERE kind = ${Q}auth${Q}" >got &&
	echo entrance >expect && test_cmp expect got
'

test_expect_success 'addresses are case-insensitive; the same device twice is one decision' '
	n=$(auth_events) &&
	auth "\"aa:bb:cc:dd:ee:02\",\"Aa:Bb:cC:dD:eE:02\",\"aa:bb:cc:dd:ee:99\"" >out &&
	test "$(sed "s/,\"end\":\"[^\"]*\"//g" out)" = "{\"granted\":[{\"participant\":\"bob\",\"name\":\"Bob\",\"meeting\":\"kickoff\",\"room\":\"R1\",\"ble\":\"AA:BB:CC:DD:EE:02\"}],\"denied\":[\"AA:BB:CC:DD:EE:99\"]}" &&
	test "$(auth_events)" = $((n + 2))
'

test_expect_success 'an empty list is answered and logs nothing' '
	n=$(auth_events) &&
	auth "" >out &&
	test "$(cat out)" = "{\"granted\":[],\"denied\":[]}" &&
	test "$(auth_events)" = $n
'

addrs() { i=0; sep=; while [ $i -lt $1 ]; do printf '%s"AA:BB:CC:00:%02X:%02X"' "$sep" $((i / 256)) $((i % 256)); sep=,; i=$((i + 1)); done; }

test_expect_success '64 addresses are 64 decisions' '
	n=$(auth_events) &&
	auth "$(addrs 63),\"AA:BB:CC:DD:EE:03\"" >out &&
	grep "\"participant\":\"carl\"" out &&
	test "$(auth_events)" = $((n + 64))
'

test_expect_success '65 addresses are 4.00 and change nothing' '
	dump >before &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"ble\":[$(addrs 65)],\"location\":\"entrance\"}" >out 2>err &&
	grep "^4.00" err && grep "more than 64" out &&
	dump >after && test_cmp before after
'

test_expect_success 'malformed JSON and wrong types are 4.00 and change nothing' '
	dump >before &&
	for body in "" "{" "{\"ble\":[\"AA:BB:CC:DD:EE:01\"],\"location\":\"entrance\"" "[]" "\"ble\"" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:01\"],\"location\":\"entrance\"} x" \
		"{\"location\":\"entrance\"}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:01\"]}" \
		"{\"ble\":\"AA:BB:CC:DD:EE:01\",\"location\":\"entrance\"}" \
		"{\"ble\":[1,2],\"location\":\"entrance\"}" \
		"{\"ble\":[null],\"location\":\"entrance\"}" \
		"{\"ble\":{},\"location\":\"entrance\"}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:01\"],\"location\":7}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:01\"],\"location\":\"\"}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:0G\"],\"location\":\"entrance\"}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:01\",\"AABBCCDDEE01\"],\"location\":\"entrance\"}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE:01 \"],\"location\":\"entrance\"}" \
		"{\"ble\":[\"AA:BB:CC:DD:EE\"],\"location\":\"entrance\"}"
	do
		test_expect_code 1 nano coap -v post $AE/auth "$body" >out 2>err </dev/null &&
		grep -q "^4.00" err && grep -q "\"error\":" out || { echo "body: $body"; cat err out; return 1; }
	done &&
	dump >after && test_cmp before after
'

test_expect_success '100 KB strings are 4.00 and change nothing' '
	big=$(head -c 100000 /dev/zero | tr "\0" "A") &&
	dump >before &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"ble\":[\"AA:BB:CC:DD:EE:01\"],\"location\":\"$big\"}" >out 2>err &&
	grep "^4.00" err && grep "location" out &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"ble\":[\"$big\"],\"location\":\"entrance\"}" >out 2>err &&
	grep "^4.00" err && grep "ble" out &&
	printf "{\"ble\":[\"AA:BB:CC:DD:EE:01\",\"%s\"],\"location\":\"%s\"}" "$big" "$big" >two &&
	test_expect_code 1 nano coap -v post $AE/auth - <two >out 2>err &&
	grep "^4.00" err &&
	dump >after && test_cmp before after &&
	nano coap get $AE/health
'

# The building rule: ivy has two meetings on now, R1 in hq (started
# earlier) and L1 in lab; jack has one in lab only; kim one without a
# building.
test_expect_success 'setup: meetings on now in two buildings' '
	person ivy Ivy AA:BB:CC:DD:EE:11 &&
	person jack Jack AA:BB:CC:DD:EE:12 &&
	person kim Kim AA:BB:CC:DD:EE:13 &&
	meet hq1 R1 "-20 min" "+40 min" hq "\"ivy\"" &&
	meet lab1 L1 "-10 min" "+50 min" lab "\"ivy\",\"jack\"" &&
	meet any1 R9 "-10 min" "+50 min" "" "\"kim\""
'

test_expect_success 'at a building, the meeting in that building wins' '
	auth "\"AA:BB:CC:DD:EE:11\"" lab >out &&
	grep "\"meeting\":\"lab1\",\"room\":\"L1\"" out &&
	auth "\"AA:BB:CC:DD:EE:11\"" hq >out &&
	grep "\"meeting\":\"hq1\",\"room\":\"R1\"" out
'

test_expect_success 'at a room, the meeting in that room wins (its building is the room'"'"'s)' '
	auth "\"AA:BB:CC:DD:EE:11\"" L1 >out &&
	grep "\"meeting\":\"lab1\",\"room\":\"L1\"" out
'

test_expect_success 'at a place of no known building, the earliest start wins' '
	auth "\"AA:BB:CC:DD:EE:11\"" entrance >out &&
	grep "\"meeting\":\"hq1\",\"room\":\"R1\"" out
'

test_expect_success 'a meeting on now in another building is denied, and why is logged' '
	auth "\"AA:BB:CC:DD:EE:12\"" hq >out &&
	grep "\"granted\":\\[\\],\"denied\":\\[\"AA:BB:CC:DD:EE:12\"\\]" out &&
	test "$(last_event)" = "denied|jack||meeting ${Q}lab1${Q} is in building ${Q}lab${Q}, not ${Q}hq${Q}" &&
	auth "\"AA:BB:CC:DD:EE:12\"" lab | grep "\"meeting\":\"lab1\""
'

test_expect_success 'a meeting without a building counts in every building' '
	auth "\"AA:BB:CC:DD:EE:13\"" hq | grep "\"meeting\":\"any1\"" &&
	auth "\"AA:BB:CC:DD:EE:13\"" lab | grep "\"meeting\":\"any1\""
'

test_expect_success COAP_CLIENT 'coap-client POSTs /auth and gets the decision' '
	coap-client-notls -B 5 -m post -t json -e "{\"ble\":[\"AA:BB:CC:DD:EE:03\"],\"location\":\"entrance\"}" $AE/auth >out &&
	grep "\"participant\":\"carl\"" out
'

test_expect_success '/stats counts the decisions since start' '
	nano coap get $AE/stats >out &&
	grep "\"decisions\":[1-9]" out && grep "\"granted\":[1-9]" out && grep "\"denied\":[1-9]" out
'

test_expect_success 'ae stops cleanly' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
