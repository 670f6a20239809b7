#!/bin/sh
# The paper's scenario (Fig. 3, a-f) across the real roles on real UDP:
# every participant's steps in mcs, the guidance at ug, the display at mrs
# and the decisions in AE's log; the stranger denied and asked about once
# per visit; nobody guided twice for one arrival.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'setup: ae, mcs, ug, mrs, pd and bs at the entrance and the room' '
	seed_paper &&
	start_flow
'

test_expect_success 'mcs knows nobody yet and sees every peer up' '
	nano coap get $MCS/participants >out &&
	test "$(pyjson out "len(d[\"participants\"])")" = 0 &&
	wait_until "peers_up" 60
'

test_expect_success '(a-e) Alice at the entrance: detected, scanned, granted, guided' '
	arrive alice &&
	wait_state alice guiding &&
	wait_until "guided_at_ug alice R1" 60 &&
	track alice >t &&
	test "$(pyjson t "\" \".join([d[\"meeting\"], d[\"room\"], d[\"name\"]])")" = "m1 R1 Alice" &&
	wait_until "guidance_is alice on" 60 &&
	track alice >t &&
	bad=0 && for s in detected scanning authenticating granted guiding guidance_on; do
		pyjson t "d[\"steps\"][\"$s\"]" >/dev/null || bad=$s
	done && test $bad = 0 &&
	test "$(pyjson t "\"arrived\" in d[\"steps\"]")" = false
'

test_expect_success 'the steps are in the order of the flow' '
	track alice >t &&
	pyjson t "[d[\"steps\"][s] for s in (\"detected\", \"scanning\", \"authenticating\", \"granted\", \"guidance_on\")]" >times &&
	test "$(pyjson times "d == sorted(d)")" = true
'

test_expect_success 'Eve, a stranger, is denied; AE logged it once' '
	arrive eve &&
	wait_state eve denied &&
	track eve >t &&
	test "$(pyjson t "\"participant\" in d")" = false &&
	test "$(auth_decisions eve denied)" = 1
'

test_expect_success 'Eve waiting at the door is not asked about again this visit' '
	motion $PD && sleep 0.7 && motion $PD && sleep 0.7 &&
	test "$(auth_decisions eve denied)" = 1 &&
	test "$(state_of eve)" = denied
'

test_expect_success '(f) Alice reaches the room: guidance stops, the display shows m1' '
	reach_room alice &&
	wait_state alice presenting &&
	track alice >t &&
	test "$(pyjson t "d[\"guidance\"]")" = off &&
	pyjson t "d[\"steps\"][\"arrived\"]" &&
	pyjson t "d[\"steps\"][\"guidance_off\"]" &&
	! nano coap get $UG/guide | grep -q alice &&
	nano coap get $MRS/display >disp &&
	test "$(pyjson disp "d[\"meeting\"]")" = m1 &&
	test "$(pyjson disp "d[\"title\"]")" = Kickoff &&
	test "$(pyjson disp "d[\"content\"]")" = "Agenda: nanoservices at the local IoT edge" &&
	test "$(pyjson disp "[a[\"participant\"] for a in d[\"attendees\"]]")" = "[\"alice\"]"
'

test_expect_success 'Bob, Carl and David follow; the attendee list grows in order' '
	bad=0 && for p in bob carl david; do
		arrive $p && wait_state $p guiding || bad=$p
	done && test $bad = 0 &&
	for p in bob carl david; do
		reach_room $p && wait_state $p presenting || bad=$p
	done && test $bad = 0 &&
	nano coap get $MRS/display >disp &&
	test "$(pyjson disp "[a[\"participant\"] for a in d[\"attendees\"]]")" = "[\"alice\", \"bob\", \"carl\", \"david\"]"
'

test_expect_success 'AE logged one grant per participant and one denial' '
	bad=0 && for p in alice bob carl david; do
		test "$(auth_decisions $p granted)" = 1 || bad=$p
	done && test $bad = 0 &&
	test "$(auth_decisions eve denied)" = 1
'

test_expect_success 'ug guided each participant exactly once and nobody is still guided' '
	nano coap get $UG/stats >st &&
	test "$(pyjson st "d[\"started\"]")" = 4 &&
	test "$(pyjson st "d[\"active\"]")" = 0 &&
	bad=0 && for p in alice bob carl david; do
		test "$(ug_starts $p ug.log)" = 1 || bad=$p
	done && test $bad = 0
'

test_expect_success 'Alice back through the entrance is not guided to her meeting again' '
	arrive alice && sleep 1.2 &&
	test "$(state_of alice)" = presenting &&
	nano coap get $UG/stats >st &&
	test "$(pyjson st "d[\"started\"]")" = 4
'

test_expect_success 'the timeline lists every step; limit and since page through it' '
	nano coap get "$MCS/timeline?limit=1000" >tl &&
	bad=0 && for e in motion scan detected scanning authenticating granted guiding guidance_on arrived guidance_off presenting denied; do
		test "$(pyjson tl "sum(1 for x in d[\"timeline\"] if x[\"event\"] == \"$e\")")" -ge 1 || bad=$e
	done && test $bad = 0 &&
	test "$(pyjson tl "sum(1 for x in d[\"timeline\"] if x[\"event\"] == \"presenting\")")" = 4 &&
	nano coap get "$MCS/timeline?limit=3" >t3 &&
	test "$(pyjson t3 "len(d[\"timeline\"])")" = 3 &&
	test "$(pyjson t3 "d[\"timeline\"][-1][\"seq\"] == d[\"last\"]")" = true &&
	nano coap get "$MCS/timeline?since=2&limit=2" >t2 &&
	test "$(pyjson t2 "[x[\"seq\"] for x in d[\"timeline\"]]")" = "[3, 4]"
'

test_expect_success 'GET /participants filters by state and counts every state' '
	nano coap get "$MCS/participants?state=presenting" >p &&
	test "$(pyjson p "sorted(t[\"participant\"] for t in d[\"participants\"])")" = "[\"alice\", \"bob\", \"carl\", \"david\"]" &&
	test "$(pyjson p "d[\"counts\"][\"presenting\"], d[\"counts\"][\"denied\"]")" = "(4, 1)" &&
	nano coap get "$MCS/participants?limit=0" >p &&
	test "$(pyjson p "len(d[\"participants\"])")" = 0
'

test_done
