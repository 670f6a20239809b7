#!/bin/sh
# mcs follows people, not addresses: a phone that rotates its resolvable
# private address between the entrance and the room (or while standing at
# the door) keeps one track, one guidance and one presentation; a badge
# beacon is known whatever address it sends from; the room asks ae about
# an address it cannot place (a rotated phone, a fast walker), and a
# stranger there is asked about once.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

GINA_IRK=ec0234a357c8ad05341010a60a397d9b
HANK_IRK=00112233445566778899aabbccddeeff
BADGE=E2C56DB5-DFFB-48D2-B060-D0F5A71096E0

# sim BS_URI ADDR [IBEACON_MINOR]: a random address (a phone's RPA, or a badge) in range
sim() {
	beacon=
	[ -n "${3:-}" ] && beacon=",\"ibeacon\":{\"uuid\":\"$BADGE\",\"major\":1,\"minor\":$3}"
	nano coap post "$1/sim/adv" "{\"addr\":\"$2\",\"type\":\"random\",\"rssi\":-55,\"ttl_ms\":60000$beacon}" >/dev/null
}
# person ID: mcs's one track of participant ID (JSON), and how many it has
person() {
	nano coap get "$MCS/participants" >"$TMP/.p" &&
	pyjson "$TMP/.p" "[t for t in d['participants'] if t.get('participant') == '$1']"
}
tracks_of() { person "$1" >"$TMP/.t" && pyjson "$TMP/.t" "len(d)"; }
person_state() { person "$1" >"$TMP/.t" && pyjson "$TMP/.t" "d[0]['state'] if d else 'none'"; }
wait_person() { wait_until "test \"\$(person_state $1)\" = $2" ${3:-100}; }
mcs_stat() { nano coap get $MCS/stats >"$TMP/.s" && pyjson "$TMP/.s" "d['$1']"; }

test_expect_success 'setup: gina and hank enrolled by their phones'"'"' IRKs, ivy by her badge; the flow' '
	seed_paper &&
	/usr/bin/python3 - "$TMP/seed.json" <<-EOF &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	d["participants"] += [
	    {"id": "gina", "name": "Gina", "ble": "AA:BB:CC:DD:EE:07", "irk": "$GINA_IRK"},
	    {"id": "hank", "name": "Hank", "ble": "AA:BB:CC:DD:EE:08", "irk": "$HANK_IRK"},
	    {"id": "ivy", "name": "Ivy", "ble": "AA:BB:CC:DD:EE:09",
	     "identities": [{"ibeacon": {"uuid": "$BADGE", "major": 1, "minor": 9}}]},
	    {"id": "jo", "name": "Jo", "ble": "AA:BB:CC:DD:EE:0A", "irk": "$GINA_IRK"[::-1]}]
	d["meetings"][0]["participants"] += ["gina", "hank", "ivy", "jo"]
	json.dump(d, open(sys.argv[1], "w"))
	EOF
	start_flow && wait_until peers_up 60
'

test_expect_success 'gina'"'"'s phone at the door: resolved by IRK, one track, guided' '
	g1=$(nano irk --rpa $GINA_IRK 41:00:01) &&
	sim $BS $g1 && motion $PD &&
	wait_person gina guiding &&
	wait_until "guided_at_ug gina R1" 60
'

test_expect_success 'it rotates on the way; the room cannot place the new address, asks ae, and it is gina arriving' '
	g2=$(nano irk --rpa $GINA_IRK 41:00:02) &&
	sim $BSR $g2 &&
	wait_person gina presenting &&
	test "$(tracks_of gina)" = 1 &&
	person gina >t &&
	test "$(pyjson t "sorted(d[0][\"addresses\"])")" = "$(/usr/bin/python3 -c "import json, sys; print(json.dumps(sorted(sys.argv[1:])))" $g1 $g2)" &&
	test "$(pyjson t "d[0][\"ble\"]")" = $g2 &&
	wait_until "! guided_at_ug gina R1" 60 &&
	wait_until "display_lists gina" 60 &&
	test "$(mcs_stat same_person)" = 1 &&
	test "$(mcs_stat room_asks)" = 1 &&
	test "$(ug_starts gina "$TMP/ug.log")" = 1
'

test_expect_success 'hank'"'"'s phone rotates while he waits at the door: one guidance, not two' '
	h1=$(nano irk --rpa $HANK_IRK 42:00:01) &&
	sim $BS $h1 && motion $PD &&
	wait_person hank guiding &&
	h2=$(nano irk --rpa $HANK_IRK 42:00:02) &&
	sim $BS $h2 && motion $PD &&
	wait_until "test \"\$(mcs_stat same_person)\" = 2" 60 &&
	test "$(tracks_of hank)" = 1 &&
	test "$(person_state hank)" = guiding &&
	sleep 0.5 &&
	test "$(ug_starts hank "$TMP/ug.log")" = 1 &&
	sim $BSR $h2 && motion $PDR &&
	wait_person hank presenting &&
	wait_until "display_lists hank" 60
'

test_expect_success 'ivy'"'"'s badge is known by its beacon at the door and, from another address, in the room' '
	sim $BS 7C:00:00:00:00:09 9 && motion $PD &&
	wait_person ivy guiding &&
	person ivy >t &&
	test "$(pyjson t "d[0][\"ibeacon\"]")" = "$BADGE/1/9" &&
	sim $BSR 7C:00:00:00:01:09 9 &&
	wait_person ivy presenting &&
	test "$(tracks_of ivy)" = 1 &&
	wait_until "display_lists ivy" 60
'

test_expect_success 'a fast walker first heard in the room (never at the door) is asked about there and presented' '
	j=$(nano irk --rpa "$(echo $GINA_IRK | rev)" 43:00:01) &&
	sim $BSR $j &&
	wait_person jo presenting &&
	test "$(tracks_of jo)" = 1 &&
	wait_until "display_lists jo" 60 &&
	test "$(ug_starts jo "$TMP/ug.log")" = 0
'

test_expect_success 'a stranger in the room is asked about once, denied, and not again' '
	asks=$(mcs_stat room_asks) &&
	sim $BSR 55:00:00:00:00:0E &&
	wait_state 55:00:00:00:00:0E denied &&
	sim $BSR 55:00:00:00:00:0E && motion $PDR && sleep 0.7 &&
	test "$(mcs_stat room_asks)" = $((asks + 1)) &&
	test "$(auth_decisions 55:00:00:00:00:0E denied)" = 1
'

test_expect_success 'the four are on the display; every role exits cleanly' '
	nano coap get $MRS/display >disp &&
	test "$(pyjson disp "sorted(a[\"participant\"] for a in d[\"attendees\"])")" = "[\"gina\", \"hank\", \"ivy\", \"jo\"]" &&
	stop_cleanly mcs ae ug mrsR1 pd bs pdr bsr
'

test_done
