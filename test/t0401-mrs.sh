#!/bin/sh
# mrs against the real ae: what the room's display shows, who may see it,
# the hide before another meeting, the clear at the meeting's end, large
# content block-wise, an observed display, and ae being down for a while.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

DISPLAY_URI=$MRS/display

test_expect_success 'setup: ae with meetings in R1 and R2, mrs for R1' '
	/usr/bin/python3 - "$(when -5)" "$(when 60)" "$(when 0)" >"$TMP/seed.json" <<-\EOF &&
	import json, sys, datetime
	start, end, now = sys.argv[1:4]
	soon = (datetime.datetime.utcnow() + datetime.timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
	people = ["alice", "bob", "carl", "david", "frank"]
	print(json.dumps({
	  "participants": [{"id": p, "name": p.title(), "ble": "AA:BB:CC:DD:EE:%02X" % (i + 1)}
	                   for i, p in enumerate(people)],
	  "meetings": [
	    {"id": "m1", "title": "Kickoff", "room": "R1", "organizer": "alice", "start": start,
	     "end": end, "participants": ["bob", "carl"], "content": "M1 agenda"},
	    {"id": "m2", "title": "Elsewhere", "room": "R2", "organizer": "david", "start": start,
	     "end": end, "participants": [], "content": "M2 agenda"},
	    {"id": "m4", "title": "Short", "room": "R1", "organizer": "frank", "start": start,
	     "end": soon, "participants": [], "content": "M4 agenda"},
	    {"id": "m5", "title": "Big", "room": "R1", "organizer": "frank", "start": start,
	     "end": end, "participants": ["alice"], "content": "x" * 200000},
	    {"id": "m6", "title": "Retro", "room": "R1", "organizer": "carl", "start": start,
	     "end": end, "participants": [], "content": "M6 notes"}]}))
	EOF
	start_ae && start_mrs R1 10 &&
	wait_for_health $AE && wait_for_health $MRS
'

test_expect_success 'usage errors are exit 2, before any port is bound' '
	test_expect_code 2 nano mrs --listen $NET.10:5683 2>err &&
	grep -- "--room" err &&
	test_expect_code 2 nano mrs --listen $NET.10:5683 --room R1 --ae http://x 2>err &&
	test_expect_code 2 nano mrs --listen $NET.10:5683 --room "R 1" 2>err &&
	test_expect_code 2 nano mrs --listen $NET.10:5683 --room R1 --max-content 0 2>err &&
	test_expect_code 1 nano mrs --listen $NET.10:5683 --room R1 2>err &&
	grep "address already in use" err
'

test_expect_success 'the display starts blank' '
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "[d[\"room\"], d[\"meeting\"], d[\"content\"], d[\"attendees\"], d[\"hidden\"]]")" = "[\"R1\", null, null, [], false]"
'

test_expect_success 'an observer of /display sees every change' '
	start_bg obs "$NANO" coap -t 20 observe $DISPLAY_URI &&
	sleep 0.3
'

test_expect_success 'Alice (organizer) arrives: m1 is fetched from ae and shown, then answered' '
	nano coap post $MRS/present "{\"participant\":\"alice\",\"meeting\":\"m1\"}" >out &&
	grep "\"status\":\"shown\"" out &&
	display_is meeting m1 &&
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "d[\"content\"]")" = "M1 agenda" &&
	test "$(pyjson d "d[\"title\"]")" = Kickoff &&
	test "$(pyjson d "[a[\"participant\"] for a in d[\"attendees\"]]")" = "[\"alice\"]"
'

test_expect_success 'Bob joins at once; twice is still one attendee' '
	nano coap post $MRS/present "{\"participant\":\"bob\",\"meeting\":\"m1\"}" >out &&
	grep "\"status\":\"shown\"" out &&
	nano coap post $MRS/present "{\"participant\":\"bob\",\"meeting\":\"m1\"}" &&
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "[a[\"participant\"] for a in d[\"attendees\"]]")" = "[\"alice\", \"bob\"]"
'

test_expect_success 'David may not see m1: 4.03, and the screen is hidden first' '
	test_expect_code 1 nano coap -v post $MRS/present "{\"participant\":\"david\",\"meeting\":\"m1\"}" >out 2>err &&
	grep "^4.03" err && grep "not a participant" out &&
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "[d[\"meeting\"], d[\"content\"], d[\"hidden\"], d[\"attendees\"]]")" = "[null, null, true, []]"
'

test_expect_success 'a meeting in another room is refused (4.09 once ae has answered)' '
	test_expect_code 1 nano coap -v post $MRS/present "{\"participant\":\"david\",\"meeting\":\"m2\"}" >out 2>err &&
	grep "^4.09" err && grep "another room" out &&
	grep "participant=david meeting=m2 not shown" mrsR1.log
'

test_expect_success 'the observer saw the display change each time' '
	stop_bg obs &&
	grep -c "" obs.log >n && test "$(cat n)" -ge 5 &&
	grep -q "\"meeting\":\"m1\"" obs.log &&
	grep -q "\"hidden\":true" obs.log &&
	grep -q "\"participant\":\"bob\"" obs.log
'

test_expect_success 'a meeting ae does not know is refused with 4.04' '
	test "$(present_code alice nope)" = 4.04
'

test_expect_success 'a large content arrives whole (block-wise from ae, and to the client)' '
	nano coap post $MRS/present "{\"participant\":\"alice\",\"meeting\":\"m5\"}" &&
	wait_until "display_is meeting m5" 100 &&
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "len(d[\"content\"])")" = 200000 &&
	test "$(pyjson d "d[\"content\"] == \"x\" * 200000")" = true
'

test_expect_success 'Frank s short meeting is shown, then cleared when it ends' '
	nano coap post $MRS/present "{\"participant\":\"frank\",\"meeting\":\"m4\"}" &&
	wait_until "display_is meeting m4" 60 &&
	wait_until "display_is meeting null" 160 &&
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "[d[\"hidden\"], d[\"attendees\"]]")" = "[false, []]" &&
	grep "meeting=m4 ended; display cleared" mrsR1.log &&
	test_expect_code 1 nano coap -v post $MRS/present "{\"participant\":\"frank\",\"meeting\":\"m4\"}" >out 2>err &&
	grep "^4.09" err && grep "over" out
'

test_expect_success 'ae down: the present waits and is shown when ae is back' '
	stop_bg ae &&
	nano coap post $MRS/present "{\"participant\":\"carl\",\"meeting\":\"m6\"}" >out &&
	grep pending out &&
	sleep 2 &&
	nano coap get $DISPLAY_URI >d &&
	test "$(pyjson d "d[\"meeting\"]")" = null &&
	start_ae &&
	wait_until "display_lists carl" 160 &&
	grep "peer=ae.*down" mrsR1.log && grep "peer=ae.*up again" mrsR1.log
'

test_expect_success 'bad requests: 4.00, 4.05' '
	test_expect_code 1 nano coap post $MRS/present "{\"participant\":\"carl\"}" >out &&
	grep meeting out &&
	test_expect_code 1 nano coap post $MRS/present "{\"participant\":\"a b\",\"meeting\":\"m1\"}" >out &&
	grep "field .participant. may only hold letters" out &&
	test_expect_code 1 nano coap post $MRS/present "{\"participant\":5,\"meeting\":\"m1\"}" &&
	test_expect_code 1 nano coap post $MRS/present "nope" &&
	test_expect_code 1 nano coap -v post $MRS/display "{}" 2>err && grep "^4.05" err &&
	perl "$TEST_DIR/fuzz-datagrams.pl" $NET.10 5683 300 &&
	wait_for_health $MRS
'

test_expect_success 'SIGTERM stops mrs cleanly' '
	stop_bg mrsR1 &&
	test "$mrsR1_status" = 0
'

test_done
