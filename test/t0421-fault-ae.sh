#!/bin/sh
# ae is stopped before a presence event and started 3 s later: the
# participant waits in "authenticating", then the flow completes, with one
# decision in AE's log and one guidance.  A frozen ae holds up only those
# waiting on it: a newcomer's decision, and a presentation (mrs shows
# someone only after reading the meeting from ae), not the guidance off.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'setup' '
	seed_paper &&
	start_flow
'

test_expect_success 'ae stops (SIGTERM: it saves a backup first)' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	wait_until "peer_state ae down" 100
'

test_expect_success 'Alice arrives: seen and scanned, the authentication waits' '
	arrive alice &&
	wait_state alice authenticating &&
	sleep 3 &&
	test "$(state_of alice)" = authenticating &&
	nano coap get $MCS/health >h &&
	test "$(pyjson h "d[\"peers\"][\"ae\"][\"parked\"]")" = 1
'

test_expect_success 'ae back (same database): Alice is granted and guided at once' '
	AS=ae2 start_ae &&
	wait_for_health $AE &&
	wait_state alice guiding 40 &&
	wait_until "guided_at_ug alice R1" 60 &&
	test "$(auth_decisions alice granted)" = 1
'

test_expect_success 'the flow completes; one guidance' '
	reach_room alice &&
	wait_state alice presenting &&
	nano coap get $MRS/display >d &&
	test "$(pyjson d "[a[\"participant\"] for a in d[\"attendees\"]]")" = "[\"alice\"]" &&
	test "$(ug_starts alice ug.log)" = 1
'

test_expect_success 'a frozen ae (SIGSTOP) delays only those waiting on it' '
	arrive carl &&
	wait_state carl guiding &&
	kill -STOP $ae2_pid &&
	arrive bob &&
	wait_state bob authenticating &&
	reach_room carl &&
	wait_state carl arrived &&
	wait_until "! guided_at_ug carl R1" 60 &&
	test "$(state_of bob)" = authenticating &&
	kill -CONT $ae2_pid &&
	wait_state bob guiding 80 &&
	wait_until "guided_at_ug bob R1" 60 &&
	test "$(ug_starts bob ug.log)" = 1
'

test_expect_success 'carl, arrived while ae was frozen, is shown once mrs could ask ae' '
	wait_state carl presenting 80 &&
	wait_until "display_lists carl" 60
'

test_done
