#!/bin/sh
# The entrance bs is dropped (SIGKILL) before a participant arrives and the
# room bs while they walk: the scan and the arrival wait for them, the flow
# completes when each is back, with one guidance.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'setup' '
	seed_paper &&
	start_flow
'

test_expect_success 'the entrance bs dies; motion at the entrance: the scan waits' '
	stop_bg bs KILL &&
	motion $PD &&
	wait_until "peer_state \"bs entrance\" down" 100 &&
	test "$(state_of alice)" = none
'

test_expect_success 'bs back with Alice in range: the waiting scan finds her' '
	AS=bs2 start_bs bs entrance 5 &&
	wait_for_health $BS &&
	adv $BS alice &&
	wait_state alice guiding 60 &&
	wait_until "guided_at_ug alice R1" 60
'

test_expect_success 'the room bs dies while she walks; back, it reports her arrival' '
	stop_bg bsr KILL &&
	sleep 0.5 &&
	test "$(state_of alice)" = guiding &&
	AS=bsr2 start_bs bsr room 7 &&
	wait_for_health $BSR &&
	reach_room alice &&
	wait_state alice presenting &&
	test "$(ug_starts alice ug.log)" = 1 &&
	nano coap get $UG/guide >g && ! grep -q alice g
'

test_done
