#!/bin/sh
# What a visit is: a stranger at the door is asked about once, and again
# only after being away from the entrance for --visit-gap; a participant
# coming back through the entrance during their meeting is authenticated
# again but not guided to it again; guidance not completed in --expire
# expires, and who then reaches the room is still shown in.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'setup with a visit gap of 2 s, guidance expiring after 3 s' '
	seed_paper &&
	start_flow --visit-gap 2s --max-age 1s --expire 3s
'

test_expect_success 'Eve at the door for a while: one decision' '
	adv $BS eve 1500 && motion $PD &&
	wait_state eve denied &&
	adv $BS eve 1500 && motion $PD && sleep 0.6 && motion $PD && sleep 0.6 &&
	test "$(auth_decisions eve denied)" = 1
'

test_expect_success 'Eve back after the gap: a new visit, asked (and logged) again' '
	sleep 3.5 &&
	adv $BS eve 1500 && motion $PD &&
	wait_until "decisions_are eve denied 2" 60 &&
	track eve >t && test "$(pyjson t "[d[\"visit\"], d[\"state\"]]")" = "[2, \"denied\"]"
'

test_expect_success 'Alice goes through the flow' '
	adv $BS alice 1500 && motion $PD &&
	wait_state alice guiding &&
	reach_room alice &&
	wait_state alice presenting
'

test_expect_success 'Alice back at the entrance after the gap: granted, not guided again' '
	sleep 3.5 &&
	adv $BS alice 1500 && motion $PD &&
	wait_until "decisions_are alice granted 2" 60 &&
	wait_state alice presenting &&
	track alice >t &&
	test "$(pyjson t "d[\"visit\"]")" = 2 &&
	nano coap get $UG/stats >st &&
	test "$(pyjson st "d[\"started\"]")" = 1
'

test_expect_success 'Bob dawdles: his guidance expires and is stopped at ug' '
	adv $BS bob 1500 && motion $PD &&
	wait_state bob guiding &&
	wait_until "guided_at_ug bob R1" 60 &&
	wait_state bob expired 60 &&
	wait_until "guidance_is bob off" 60 &&
	! guided_at_ug bob R1
'

test_expect_success 'Bob reaches the room late: still shown in, not guided again' '
	reach_room bob &&
	wait_state bob presenting &&
	nano coap get $MRS/display >d &&
	test "$(pyjson d "sorted(a[\"participant\"] for a in d[\"attendees\"])")" = "[\"alice\", \"bob\"]" &&
	test "$(ug_starts bob ug.log)" = 1
'

test_done
