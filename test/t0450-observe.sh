#!/bin/sh
# GET /participants observed with nano coap observe and with libcoap's
# coap-client -s while a participant goes through the flow: both see the
# states change in the flow's order, and the last notification carries
# the time of every step.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'setup; two observers of /participants' '
	seed_paper &&
	start_flow &&
	# long enough for the flow on a slow machine (make check, qemu)
	start_bg obs "$NANO" coap -t 25 observe $MCS/participants &&
	if test_have_prereq COAP_CLIENT; then
		start_bg lobs coap-client-notls -s 25 -B 25 -m get $MCS/participants
	fi &&
	sleep 0.5
'

test_expect_success 'Alice goes through the whole flow' '
	arrive alice &&
	wait_state alice guiding &&
	wait_until "guidance_is alice on" 60 &&
	sleep 0.3 &&
	reach_room alice &&
	wait_state alice presenting &&
	sleep 0.5
'

# states NOTIFICATIONS_FILE: Alice's state in each notification, in order
# (one JSON document per line for nano coap; coap-client prints them one
# after another without separators, so split on the top-level braces).
states() {
	/usr/bin/python3 - "$1" <<-\EOF
	import json, sys
	text = open(sys.argv[1]).read()
	dec, i, out = json.JSONDecoder(), 0, []
	while True:
	    j = text.find("{\"participants\"", i)
	    if j < 0:
	        break
	    doc, i = dec.raw_decode(text, j)
	    for t in doc["participants"]:
	        if t.get("ble") == "AA:BB:CC:DD:EE:01":
	            if not out or out[-1][0] != t["state"]:
	                out.append((t["state"], sorted(t["steps"])))
	print(" ".join(s for s, _ in out))
	print(" ".join(out[-1][1]) if out else "")
	EOF
}

ORDER="detected scanning authenticating guiding arrived presenting"

# in_flow_order "S1 S2 ...": each state comes later in the flow than the last
in_flow_order() {
	prev=-1
	for s in $1; do
		i=0 found=-1
		for o in $ORDER; do [ "$o" = "$s" ] && found=$i; i=$((i + 1)); done
		[ "$found" -gt "$prev" ] || { echo "out of order: $1" >&2; return 1; }
		prev=$found
	done
}

test_expect_success 'nano coap observe saw guiding then presenting, and every step' '
	stop_bg obs &&
	states obs.log >st &&
	seen=$(head -n 1 st) && echo "$seen" &&
	in_flow_order "$seen" &&
	case " $seen " in *" guiding "*" presenting "*) ;; *) false ;; esac &&
	test "$(tail -n 1 st)" = "arrived authenticating detected granted guidance_off guidance_on guiding presenting scanning"
'

test_expect_success COAP_CLIENT 'coap-client -s saw the same' '
	# it ends by itself (-s): killed, it would lose what it has not flushed
	wait $lobs_pid;
	states lobs.log >st &&
	seen=$(head -n 1 st) && echo "$seen" &&
	in_flow_order "$seen" &&
	case " $seen " in *" guiding "*" presenting "*) ;; *) false ;; esac &&
	test "$(tail -n 1 st)" = "arrived authenticating detected granted guidance_off guidance_on guiding presenting scanning"
'

test_done
