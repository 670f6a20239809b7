#!/bin/sh
# mcs says what is true after ordinary life events (issue "the flow tells
# the truth"): a presentation mrs refuses ends the visit in a resting
# state, never "presenting" and never stuck in "arrived"; an address handed
# to someone else does not carry the old holder's "already presented"; a
# meeting that ends ends the presentation; someone invited to meetings in
# two rooms is shown in the room they walk into; ug's own expiry of a
# guidance is not taken for a lost guidance and lit again.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

meeting() { # meeting ID ROOM START_MIN END_MIN INVITEES_JSON
	nano coap post $AE/meetings "{\"id\":\"$1\",\"title\":\"$1\",\"room\":\"$2\",\"organizer\":\"alice\",\"start\":\"$(when $3)\",\"end\":\"$(when $4)\",\"participants\":$5,\"content\":\"about $1\"}" >/dev/null
}
person() { # person ID BLE
	nano coap put $AE/participants/$1 "{\"name\":\"$1\",\"ble\":\"$2\"}" >/dev/null
}
steps_of() { track "$1" >"$TMP/.t" && pyjson "$TMP/.t" "sorted(d['steps'])"; }

test_expect_success 'setup: the flow; ug expires guidance after 2 s, mcs after 8 s; visits 3 s apart' '
	seed_paper &&
	start_ae && start_mcs --visit-gap 3s --expire 8s && start_ug --expire 2s &&
	start_mrs R1 10 && start_mrs R2 11 &&
	start_pd pd entrance 4 && start_bs bs entrance 5 &&
	start_pd pdr room 6 && start_bs bsr room 7 &&
	start_bg bsr1 "$NANO" bs --listen $NET.8:5683 --location R1 --adapter sim --mcs $MCS &&
	for h in 1 2 3 4 5 6 7 8 10 11; do wait_for_health coap://$NET.$h || return 1; done &&
	stop_bg mcs && start_mcs --visit-gap 3s --expire 8s --mrs R2=coap://$NET.11 &&
	wait_for_health $MCS && wait_until peers_up 60
'

test_expect_success 'a presentation mrs refuses (bob no longer invited) ends at rest: refused, not presenting' '
	arrive alice && wait_state alice guiding && reach_room alice && wait_state alice presenting &&
	adv $BS bob 2000 && motion $PD && wait_state bob guiding &&
	nano coap delete $AE/meetings/m1 &&
	meeting m1 R1 -5 60 "[\"carl\",\"david\"]" &&
	reach_room bob &&
	wait_state bob refused 80 &&
	nano coap get "$MCS/timeline?limit=1000" >tl &&
	test "$(pyjson tl "[e[\"detail\"][:9] for e in d[\"timeline\"] if e[\"event\"] == \"refused\" and e.get(\"who\") == \"bob\"]")" = "[\"mrs: 4.03\"]" &&
	! display_lists bob
'

test_expect_success 'a refused visit rests: bob back at the door after the visit gap is asked about again' '
	grants=$(auth_decisions bob granted) && sleep 4.5 &&
	adv $BS bob 2000 && motion $PD &&
	wait_until "test \$(auth_decisions bob denied) = 1" 60 &&
	test "$(auth_decisions bob granted)" = $grants
'

test_expect_success 'an address handed on: carl'"'"'s key given to david is not "already presented"' '
	adv $BS carl 2000 && motion $PD && wait_state carl guiding &&
	adv $BSR carl 2000 && motion $PDR && wait_state carl presenting &&
	person carl AA:BB:CC:DD:EE:33 && person david AA:BB:CC:DD:EE:03 &&
	sleep 4.5 && adv $BS carl 2000 && motion $PD &&
	{ wait_state david guiding 60 || { nano coap get "$MCS/timeline?limit=1000" | tr "{" "\n" | grep -i "carl\|david\|EE:03" | tail -20; false; }; } &&
	nano coap get "$MCS/timeline?limit=1000" >tl &&
	grep -q "\"event\":\"new_holder\"" tl &&
	adv $BSR carl 2000 && motion $PDR && wait_state david presenting &&
	wait_until "display_lists david" 60
'

test_expect_success 'invited in R1 and R2, guided to R2, seen in R1: presented in R1' '
	person gina AA:BB:CC:DD:EE:07 &&
	meeting mR2 R2 -20 60 "[\"gina\"]" &&
	nano coap get $AE/meetings/m1 >m1 &&
	nano coap delete $AE/meetings/m1 &&
	meeting m1 R1 -5 60 "[\"carl\",\"david\",\"gina\"]" &&
	arrive AA:BB:CC:DD:EE:07 && wait_state gina guiding &&
	track gina >t && test "$(pyjson t "d[\"room\"]")" = R2 &&
	adv coap://$NET.8 AA:BB:CC:DD:EE:07 &&
	wait_state gina presenting 60 &&
	track gina >t && test "$(pyjson t "d[\"room\"]")" = R1 &&
	wait_until "display_lists gina" 60 &&
	! guided_at_ug gina R2
'

test_expect_success 'ug'"'"'s own expiry (2 s) is not a lost guidance: not lit again' '
	person hank AA:BB:CC:DD:EE:08 &&
	nano coap get $AE/meetings/m1 >/dev/null &&
	nano coap delete $AE/meetings/m1 &&
	meeting m1 R1 -5 60 "[\"carl\",\"david\",\"gina\",\"hank\"]" &&
	arrive AA:BB:CC:DD:EE:08 && wait_state hank guiding &&
	wait_until "grep -q \"guide expired participant=hank\" ug.log" 80 &&
	sleep 1.5 &&
	track hank >t &&
	test "$(pyjson t "d[\"resends\"]")" = 0 &&
	test "$(pyjson t "d[\"guidance\"]")" = off &&
	test "$(grep -c "guide start participant=hank " ug.log)" = 1
'

test_expect_success 'a meeting that ends ends the presentation: ended, not presenting' '
	person ivy AA:BB:CC:DD:EE:09 &&
	nano coap post $AE/meetings "{\"id\":\"short\",\"title\":\"Short\",\"room\":\"R2\",\"organizer\":\"alice\",\"start\":\"$(when -1)\",\"end\":\"$(date -u -d "+8 sec" +%Y-%m-%dT%H:%M:%SZ)\",\"participants\":[\"ivy\"]}" &&
	arrive AA:BB:CC:DD:EE:09 && wait_state ivy guiding &&
	adv coap://$NET.8 AA:BB:CC:DD:EE:09 && sleep 0.1 &&
	start_bg bsr2 "$NANO" bs --listen $NET.9:5683 --location R2 --adapter sim --mcs $MCS &&
	wait_for_health coap://$NET.9 &&
	adv coap://$NET.9 AA:BB:CC:DD:EE:09 &&
	wait_state ivy presenting 60 &&
	wait_state ivy ended 150 &&
	track ivy >t && grep -q "\"ended\"" t
'

test_expect_success 'every role exits cleanly' '
	stop_cleanly mcs ae ug mrsR1 mrsR2 pd bs pdr bsr bsr1 bsr2
'

test_done
