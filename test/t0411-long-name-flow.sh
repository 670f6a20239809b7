#!/bin/sh
# One wire contract: what ae grants every other role takes.  A participant
# with a 200-byte UTF-8 name and the id o'brien (mrs used to refuse the
# quote, mcs the name: ae allowed 256 bytes, mcs 128), invited to a
# meeting with a 256-byte title and the id 2026-12-01T10:00~R1, goes
# through ae -> mcs -> ug -> mrs like anyone else.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

P="o'brien"
KEY=AA:BB:CC:DD:EE:07
MID="2026-12-01T10:00~R1"
# "Zoë " 39 times and "Zoës": 200 bytes, 160 characters
NAME="$(printf 'Zo\303\253 %.0s' $(seq 39))$(printf 'Zo\303\253s')"
TITLE=$(printf 'T%.0s' $(seq 256))

test_expect_success 'setup: the flow, ae seeded with the long name and title' '
	test "$(printf "%s" "$NAME" | wc -c)" = 200 &&
	test "$(printf "%s" "$TITLE" | wc -c)" = 256 &&
	cat >seed.json <<-EOF &&
	{"participants":[{"id":"$P","name":"$NAME","ble":"$KEY"}],
	 "meetings":[{"id":"$MID","title":"$TITLE","room":"R1","organizer":"$P",
	  "start":"$(when -5)","end":"$(when 60)","content":"long names"}]}
	EOF
	start_flow
'

test_expect_success 'ae grants the participant with the whole name' '
	printf "{\"ble\":[\"%s\"],\"location\":\"entrance\"}" $KEY >auth.json &&
	nano coap post $AE/auth - <auth.json >out &&
	test "$(pyjson out "d[\"granted\"][0][\"name\"]")" = "$NAME" &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = "$P"
'

test_expect_success 'mcs takes the grant and ug guides them' '
	arrive $KEY &&
	wait_state $KEY guiding &&
	track $KEY >t &&
	test "$(pyjson t "d[\"name\"]")" = "$NAME" &&
	test "$(pyjson t "len(d[\"name\"].encode())")" = 200 &&
	test "$(pyjson t "d[\"participant\"]")" = "$P" &&
	test "$(pyjson t "d[\"meeting\"]")" = "$MID" &&
	wait_until "guided_at_ug \"$P\" R1" 60
'

test_expect_success 'mrs shows the meeting and the participant at the room' '
	reach_room $KEY &&
	wait_state $KEY presenting &&
	nano coap get $MRS/display >disp &&
	test "$(pyjson disp "d[\"meeting\"]")" = "$MID" &&
	test "$(pyjson disp "d[\"title\"]")" = "$TITLE" &&
	test "$(pyjson disp "[a[\"participant\"] for a in d[\"attendees\"]]")" = "[\"$P\"]" &&
	! nano coap get $UG/guide | grep -q brien
'

test_expect_success 'a name one byte over the limit is 4.00 at ae' '
	printf "{\"id\":\"x\",\"name\":\"%s\",\"ble\":\"AA:BB:CC:DD:EE:08\"}" "$TITLE" >p.json &&
	nano coap post $AE/participants - <p.json &&
	printf "{\"id\":\"y\",\"name\":\"%sT\",\"ble\":\"AA:BB:CC:DD:EE:09\"}" "$TITLE" >p.json &&
	test_expect_code 1 nano coap -v post $AE/participants - <p.json >out 2>err &&
	grep "^4.00" err && grep "longer than 256 bytes" out
'

test_done
