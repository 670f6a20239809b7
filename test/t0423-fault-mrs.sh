#!/bin/sh
# mrs is killed with two participants on its display and restarted: mcs
# notices the restart (its uptime starts over) and presents them again;
# one who reached the room while mrs was down is shown when it is back.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

attendees() {
	"$NANO" coap get $MRS/display >"$TMP/.d" &&
	pyjson "$TMP/.d" "' '.join(sorted(a['participant'] for a in d['attendees']))"
}
attendees_are() {
	test "$(attendees)" = "$*"
}

test_expect_success 'setup: Alice and Bob on the display' '
	seed_paper &&
	start_flow &&
	arrive alice && arrive bob &&
	wait_state alice guiding && wait_state bob guiding &&
	reach_room alice && reach_room bob &&
	wait_state alice presenting && wait_state bob presenting &&
	wait_until "attendees_are alice bob" 60
'

test_expect_success 'mrs killed; Carl reaches the room meanwhile' '
	stop_bg mrsR1 KILL &&
	arrive carl && wait_state carl guiding &&
	reach_room carl &&
	wait_state carl arrived &&
	sleep 0.5 &&
	test "$(state_of carl)" = arrived
'

test_expect_success 'mrs back: everyone is on the display again' '
	start_bg mrs2 "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE &&
	wait_for_health $MRS &&
	wait_until "attendees_are alice bob carl" 160 &&
	wait_state carl presenting &&
	nano coap get "$MCS/timeline?limit=1000" >tl &&
	test "$(pyjson tl "sorted(x[\"who\"] for x in d[\"timeline\"] if x[\"event\"] == \"present_again\")")" = "[\"alice\", \"bob\"]"
'

test_done
