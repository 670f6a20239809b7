#!/bin/sh
# ug dies while a participant is guided (SIGKILL: its guidances are lost)
# and another arrives meanwhile; when ug is back both are guided by it,
# each exactly once, and the flow completes.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'setup' '
	seed_paper &&
	start_flow
'

test_expect_success 'Alice is guided by the first ug' '
	arrive alice &&
	wait_state alice guiding &&
	wait_until "guided_at_ug alice R1" 60 &&
	wait_until "guidance_is alice on" 60
'

test_expect_success 'ug is killed; mcs sees it down' '
	stop_bg ug KILL &&
	wait_until "peer_state ug down" 100
'

test_expect_success 'Bob arrives while ug is down: granted, his guidance waits' '
	arrive bob &&
	wait_state bob guiding &&
	sleep 0.5 &&
	guidance_is bob pending
'

test_expect_success 'ug restarted: Alice s guidance is sent again, Bob s for the first time' '
	AS=ug2 start_ug &&
	wait_for_health $UG &&
	wait_until "guided_at_ug alice R1" 100 &&
	wait_until "guided_at_ug bob R1" 100 &&
	wait_until "guidance_is alice on" 60 &&
	wait_until "guidance_is bob on" 60 &&
	track alice >t && test "$(pyjson t "d[\"resends\"]")" = 1 &&
	track bob >t && test "$(pyjson t "d[\"resends\"]")" = 0 &&
	nano coap get "$MCS/timeline?limit=1000" >tl &&
	test "$(pyjson tl "[x[\"who\"] for x in d[\"timeline\"] if x[\"event\"] == \"guidance_lost\"]")" = "[\"alice\"]"
'

test_expect_success 'no duplicate guidance: one start each at each ug, none later' '
	sleep 1.5 &&
	test "$(ug_starts alice ug.log)" = 1 &&
	test "$(ug_starts bob ug.log)" = 0 &&
	test "$(ug_starts alice ug2.log)" = 1 &&
	test "$(ug_starts bob ug2.log)" = 1 &&
	nano coap get $UG/stats >st &&
	test "$(pyjson st "d[\"started\"]")" = 2
'

test_expect_success 'both reach the room: guidance stops, both on the display' '
	reach_room alice && reach_room bob &&
	wait_state alice presenting && wait_state bob presenting &&
	wait_until "ug_active 0" 60 &&
	nano coap get $MRS/display >d &&
	test "$(pyjson d "sorted(a[\"participant\"] for a in d[\"attendees\"])")" = "[\"alice\", \"bob\"]"
'

test_done
