#!/bin/sh
# bs's sim adapter simulates a phone as it really advertises: resolvable
# private addresses made from its IRK (POST /sim/adv {"irk","rotate_ms"}),
# a fresh one every rotate_ms, each of which ae resolves to the phone's
# participant; the old address goes quiet and is forgotten.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

BS=coap://$NET.5
IRK=ec0234a357c8ad05341010a60a397d9b

# addr FILE: the "addr" of a /sim/adv answer
addr() { pyjson "$1" "d[\"addr\"]"; }

test_expect_success 'setup: ae with gina enrolled by her IRK, bs with the sim adapter' '
	seed_paper &&
	/usr/bin/python3 - "$TMP/seed.json" <<-\EOF &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	d["participants"].append({"id": "gina", "name": "Gina", "ble": "AA:BB:CC:DD:EE:07",
	                          "irk": "ec0234a357c8ad05341010a60a397d9b"})
	d["meetings"][0]["participants"].append("gina")
	json.dump(d, open(sys.argv[1], "w"))
	EOF
	start_ae && start_bg bs "$NANO" bs --listen $NET.5:5683 --adapter sim \
		--location entrance --forget 1s &&
	wait_for_health $AE && wait_for_health $BS
'

test_expect_success 'a phone with an IRK sends a random resolvable address (top bits 01)' '
	nano coap post $BS/sim/adv "{\"irk\":\"$IRK\",\"rotate_ms\":700,\"ttl_ms\":20000,\"name\":\"Gina phone\"}" >a1 &&
	a1=$(addr a1) &&
	case $a1 in [4-7]?:??:??:??:??:??) ;; *) false ;; esac &&
	nano coap get $BS/devices >d &&
	test "$(pyjson d "[x[\"type\"] for x in d[\"devices\"] if x[\"addr\"] == \"$a1\"]")" = "[\"random\"]"
'

test_expect_success 'ae resolves it to gina' '
	nano coap post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"$a1\"]}" >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	test "$(pyjson out "d[\"granted\"][0][\"resolved\"]")" = irk
'

test_expect_success 'posted again, the same phone keeps its address until it rotates' '
	nano coap post $BS/sim/adv "{\"irk\":\"$IRK\",\"rotate_ms\":700,\"ttl_ms\":20000}" >a &&
	test "$(addr a)" = "$a1" || test "$(grep -c rotated bs.log)" -ge 1
'

test_expect_success 'after rotate_ms it sends another address, which ae also resolves to gina' '
	wait_until "grep -q \"rotated to\" bs.log" 50 &&
	a2=$(sed -n "s/.*rotated to addr=\([0-9A-F:]*\).*/\1/p" bs.log | tail -n 1) &&
	test -n "$a2" && test "$a2" != "$a1" &&
	nano coap get $BS/devices >d &&
	grep "\"addr\":\"$a2\"" d &&
	nano coap post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"$a2\"]}" >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	nano coap get $AE/stats >st &&
	test "$(pyjson st "d[\"rpa_resolved\"]")" -ge 2
'

test_expect_success 'the first address goes quiet and is forgotten' '
	wait_until "! nano coap get $BS/devices | grep -q \"$a1\"" 60
'

test_expect_success 'an irk with an addr, rotate_ms without an irk, or a too fast rotation are 4.00' '
	for body in "{\"irk\":\"$IRK\",\"addr\":\"AA:BB:CC:DD:EE:FF\"}" \
		"{\"addr\":\"AA:BB:CC:DD:EE:FF\",\"rotate_ms\":1000}" \
		"{\"irk\":\"$IRK\",\"rotate_ms\":10}" "{\"irk\":\"ec02\"}"
	do
		test_expect_code 1 nano coap -v post $BS/sim/adv "$body" >err 2>&1 &&
		grep 4.00 err || return 1
	done
'

test_expect_success 'both roles exit cleanly' '
	stop_cleanly bs ae
'

test_done
