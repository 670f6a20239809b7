#!/bin/sh
# ae tells the truth about time: a room's building is taken only from the
# meetings admitting now in it (a meeting for tomorrow, one that ended,
# or a mistyped building cannot change today's decision).
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
Q="'"

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
person() {
	nano coap post $AE/participants "{\"id\":\"$1\",\"name\":\"$1\",\"ble\":\"$2\"}" >/dev/null
}
# meet ID ROOM START END BUILDING-OR-EMPTY INVITEES(JSON list body)
meet() {
	b=
	test -n "$5" && b=",\"building\":\"$5\""
	nano coap post $AE/meetings "{\"id\":\"$1\",\"title\":\"$1\",\"room\":\"$2\",\"start\":\"$(at "$3")\",\"end\":\"$(at "$4")\"$b,\"participants\":[$6]}" >/dev/null
}
auth() {
	nano coap post $AE/auth "{\"ble\":[\"$1\"],\"location\":\"$2\"}"
}
last_event() { sqlite3 data/ae.db "SELECT decision || '|' || coalesce(participant, '') || '|' || coalesce(meeting, '') || '|' || detail FROM events WHERE kind = 'auth' ORDER BY id DESC LIMIT 1"; }
start_ae() {
	start_bg ae "$NANO" ae --db $TMP/data/ae.db --backup-dir $TMP/bk --backup-interval 0 \
		--listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}
# events SINCE: GET /events?since=SINCE as "id kind" lines; next in $TMP/next
events() {
	nano coap get "$AE/events?since=$1&limit=1000" >ev.json &&
	/usr/bin/python3 -c 'import json, sys
d = json.load(open("ev.json"))
open("next", "w").write(str(d["next"]))
for e in d["events"]: print(e["id"], e["kind"])'
}

test_expect_success 'setup: p2 in meeting A, on now in R1 of building B1' '
	start_ae &&
	person p2 AA:BB:CC:DD:EE:02 &&
	person q AA:BB:CC:DD:EE:03 &&
	person r AA:BB:CC:DD:EE:04 &&
	meet A R1 "-10 min" "+50 min" B1 "\"p2\"" &&
	auth AA:BB:CC:DD:EE:02 R1 | grep "\"meeting\":\"A\",\"room\":\"R1\""
'

test_expect_success 'a meeting for tomorrow in R1 with another building does not change today s decision' '
	meet Z R1 "+1 day" "+1 day 1 hour" B2 "" &&
	auth AA:BB:CC:DD:EE:02 R1 >out &&
	grep "\"meeting\":\"A\",\"room\":\"R1\"" out
'

test_expect_success 'nor does one that ended, nor a mistyped building naming the room' '
	meet Y R1 "-3 hours" "-2 hours" B3 "" &&
	meet X R9 "+2 days" "+2 days 1 hour" R1 "" &&
	auth AA:BB:CC:DD:EE:02 R1 >out &&
	grep "\"meeting\":\"A\",\"room\":\"R1\"" out
'

test_expect_success 'the building of a room in use now still decides: another building is denied' '
	meet Q R5 "-10 min" "+50 min" B2 "\"q\"" &&
	auth AA:BB:CC:DD:EE:03 R1 >out &&
	grep "\"granted\":\\[\\]" out &&
	test "$(last_event)" = "denied|q||meeting ${Q}Q${Q} is in building ${Q}B2${Q}, not ${Q}B1${Q}" &&
	auth AA:BB:CC:DD:EE:03 B2 | grep "\"meeting\":\"Q\""
'

test_expect_success 'a room with nothing on now has no building: every building counts there' '
	meet W R7 "+1 day" "+1 day 1 hour" B1 "" &&
	auth AA:BB:CC:DD:EE:03 R7 | grep "\"meeting\":\"Q\",\"room\":\"R5\""
'

test_expect_success 'ae stops cleanly' '
	stop_cleanly ae
'

test_done
