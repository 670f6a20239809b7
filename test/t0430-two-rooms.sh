#!/bin/sh
# Two rooms, two meetings at once: each participant is guided to their own
# room, a sighting in the wrong room is not an arrival, and each room's
# display shows only its own meeting and attendees.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

BS1=coap://$NET.7
BS2=coap://$NET.8
MRS1=coap://$NET.10
MRS2=coap://$NET.11

test_expect_success 'setup: m1 in R1 (alice, bob), m2 in R2 (carl, david), both on now' '
	cat >"$TMP/seed.json" <<-EOF &&
	{"participants":[
	 {"id":"alice","name":"Alice","ble":"AA:BB:CC:DD:EE:01"},
	 {"id":"bob","name":"Bob","ble":"AA:BB:CC:DD:EE:02"},
	 {"id":"carl","name":"Carl","ble":"AA:BB:CC:DD:EE:03"},
	 {"id":"david","name":"David","ble":"AA:BB:CC:DD:EE:04"}],
	 "meetings":[
	 {"id":"m1","title":"Kickoff","room":"R1","organizer":"alice","start":"$(when -5)","end":"$(when 60)","participants":["bob"],"content":"R1 agenda"},
	 {"id":"m2","title":"Budget","room":"R2","organizer":"carl","start":"$(when -5)","end":"$(when 60)","participants":["david"],"content":"R2 figures"}]}
	EOF
	start_ae &&
	start_bg mcs "$NANO" mcs --listen $NET.2:5683 --ae $AE --ug $UG --bs $BS \
		--bs-room R1=$BS1 --bs-room R2=$BS2 --pd-room "" \
		--mrs R1=$MRS1 --mrs R2=$MRS2 --watch 500ms &&
	start_ug && start_mrs R1 10 && start_mrs R2 11 &&
	start_pd pd entrance 4 && start_bs bs entrance 5 &&
	start_bs bs1 R1 7 && start_bs bs2 R2 8 &&
	for h in 1 2 3 4 5 7 8 10 11; do wait_for_health coap://$NET.$h || return 1; done
'

test_expect_success 'all four arrive together: each guided to their room' '
	adv $BS alice && adv $BS bob && adv $BS carl && adv $BS david &&
	motion $PD &&
	wait_state alice guiding && wait_state bob guiding &&
	wait_state carl guiding && wait_state david guiding &&
	wait_until "guided_at_ug alice R1" 60 && wait_until "guided_at_ug bob R1" 60 &&
	wait_until "guided_at_ug carl R2" 60 && wait_until "guided_at_ug david R2" 60 &&
	track carl >t && test "$(pyjson t "d[\"meeting\"] + \" \" + d[\"room\"]")" = "m2 R2"
'

test_expect_success 'Carl seen in R1 (the wrong room) has not arrived' '
	adv $BS1 carl &&
	sleep 0.5 &&
	test "$(state_of carl)" = guiding &&
	guided_at_ug carl R2
'

test_expect_success 'each reaches their own room and its display' '
	adv $BS1 alice && adv $BS2 carl && adv $BS1 bob && adv $BS2 david &&
	wait_state alice presenting && wait_state bob presenting &&
	wait_state carl presenting && wait_state david presenting &&
	nano coap get $MRS1/display >d1 &&
	nano coap get $MRS2/display >d2 &&
	test "$(pyjson d1 "[d[\"meeting\"], d[\"content\"]] + sorted(a[\"participant\"] for a in d[\"attendees\"])")" = "[\"m1\", \"R1 agenda\", \"alice\", \"bob\"]" &&
	test "$(pyjson d2 "[d[\"meeting\"], d[\"content\"]] + sorted(a[\"participant\"] for a in d[\"attendees\"])")" = "[\"m2\", \"R2 figures\", \"carl\", \"david\"]" &&
	! grep -q "R2 figures" d1 && ! grep -q "R1 agenda" d2
'

test_expect_success 'one guidance each, all stopped' '
	nano coap get $UG/stats >st &&
	test "$(pyjson st "[d[\"started\"], d[\"active\"]]")" = "[4, 0]"
'

test_done
