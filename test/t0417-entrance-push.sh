#!/bin/sh
# The entrance bs pushes each device that comes into range to mcs, so
# while the entrance is busy (a crowd keeps the PIR high: no new motion
# start) a newcomer is asked about at once, not at the next rescan; a push
# that is lost is made up by the rescan; a restarted bs pushes again.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

# scans_at LOCATION: how many scans mcs's timeline shows there
scans_at() {
	nano coap get "$MCS/timeline?limit=1000" >"$TMP/.tl" &&
	pyjson "$TMP/.tl" "sum(1 for e in d['timeline'] if e['event'] == 'scan' and e['who'] == '$1')"
}
# detected_how NAME: the detail of NAME's detection
detected_how() {
	nano coap get "$MCS/timeline?limit=1000" >"$TMP/.tl" &&
	pyjson "$TMP/.tl" "[e['detail'] for e in d['timeline'] if e['event'] == 'detected' and e['ble'] == '$(ble_of "$1")'][-1]"
}

test_expect_success 'setup: the flow with rescans every 10 s (so only a push can be quick)' '
	seed_paper &&
	start_flow --rescan 10s --linger 20s && wait_until peers_up 60
'

test_expect_success 'alice at the door: motion, one scan, guided' '
	arrive alice && wait_state alice guiding &&
	test "$(scans_at entrance)" = 1
'

test_expect_success 'bob comes while the entrance is busy: his key is pushed and asked about at once' '
	adv $BS bob &&
	wait_state bob guiding 20 &&
	test "$(scans_at entrance)" = 1 &&
	test "$(detected_how bob)" = "entrance, pushed by bs" &&
	test "$(auth_decisions bob granted)" = 1
'

test_expect_success 'a restarted entrance bs pushes again: carl is asked about at once' '
	stop_bg bs && AS=bs2 start_bs bs entrance 5 && wait_for_health $BS &&
	adv $BS carl &&
	wait_state carl guiding 20 &&
	test "$(detected_how carl)" = "entrance, pushed by bs"
'

test_expect_success 'a push that is lost (bs reports to nobody) is made up by the rescan' '
	stop_bg mcs && stop_bg bs2 &&
	start_bg bs3 "$NANO" bs --listen $NET.5:5683 --location entrance --adapter sim \
		--mcs coap://$NET.99 &&
	start_mcs --rescan 500ms --linger 20s && wait_for_health $MCS && wait_for_health $BS &&
	motion $PD && sleep 0.3 &&
	adv $BS david &&
	wait_state david guiding 40 &&
	test "$(detected_how david)" = "entrance, on a rescan" &&
	grep -q "report.*fail\|down\|unreachable\|retry" bs3.log
'

test_expect_success 'without motion a push starts nothing' '
	stop_bg mcs && stop_bg bs3 && start_bs bs entrance 5 &&
	start_mcs --rescan 10s --linger 1s && wait_for_health $MCS && wait_for_health $BS &&
	sleep 1.2 &&
	adv $BS $EVE && sleep 0.5 &&
	test "$(state_of eve)" = none
'

test_expect_success 'every role exits cleanly' '
	stop_cleanly mcs ae ug mrsR1 pd bs pdr bsr
'

test_done
