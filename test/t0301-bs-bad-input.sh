#!/bin/sh
# Bad input to every resource and flag of nano bs: a clear 4.xx with
# {"error"}, nothing changed, the role keeps running.
. "$(dirname "$0")/lib.sh"

BS=coap://$NET.1

# expect CODE URI-METHOD URI [PAYLOAD]: the answer's code is CODE and its
# body a JSON error
expect() {
	code=$1
	shift
	nano coap -v "$@" >out 2>err
	grep -q "^$code" err || { echo "want $code for $*, got: $(cat err) $(cat out)"; return 1; }
	case $code in 4.04|4.05|4.13) return 0 ;; esac
	grep -q "\"error\":" out || { echo "no JSON error for $*: $(cat out)"; return 1; }
}

test_expect_success 'setup: bs with the sim adapter, one device' '
	start_bg bs "$NANO" bs --listen $NET.1:5683 --adapter sim &&
	wait_for_health $BS &&
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:01\",\"rssi\":-50,\"name\":\"ok\"}" &&
	nano coap get $BS/devices >before
'

test_expect_success 'POST /scan: malformed JSON, not an object, empty' '
	expect 4.00 post $BS/scan "{\"duration_ms\":" &&
	grep "malformed JSON" out &&
	expect 4.00 post $BS/scan "[1,2]" &&
	expect 4.00 post $BS/scan "\"x\"" &&
	expect 4.00 post $BS/scan "{} trailing"
'

test_expect_success 'POST /scan: duration_ms of the wrong type or out of range' '
	expect 4.00 post $BS/scan "{\"duration_ms\":\"500\"}" &&
	grep "duration_ms" out &&
	expect 4.00 post $BS/scan "{\"duration_ms\":-1}" &&
	expect 4.00 post $BS/scan "{\"duration_ms\":30001}" &&
	expect 4.00 post $BS/scan "{\"duration_ms\":1.5}" &&
	expect 4.00 post $BS/scan "{\"duration_ms\":1e300}" &&
	expect 4.00 post $BS/scan "{\"duration_ms\":true}"
'

test_expect_success 'POST /sim/adv: addr missing or malformed' '
	expect 4.00 post $BS/sim/adv "{\"rssi\":-50}" &&
	grep "missing field .addr." out &&
	for a in "AA:BB:CC:DD:EE" "AA:BB:CC:DD:EE:FF:00" "AA-BB-CC-DD-EE-FF" "GG:BB:CC:DD:EE:FF" \
		"AABBCCDDEEFF" "" " AA:BB:CC:DD:EE:F" "AA:BB:CC:DD:EE:F\n"; do
		expect 4.00 post $BS/sim/adv "{\"addr\":\"$a\"}" || return 1
	done &&
	expect 4.00 post $BS/sim/adv "{\"addr\":42}"
'

test_expect_success 'POST /sim/adv: rssi, ttl_ms, name, type, ibeacon out of bounds' '
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":-128}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":21}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":\"-50\"}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"ttl_ms\":0}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"ttl_ms\":3600001}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"name\":[\"x\"]}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"name\":\"$(printf "%065d" 0)\"}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"type\":\"static\"}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"ibeacon\":7}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"ibeacon\":{\"uuid\":\"nope\",\"major\":1,\"minor\":2}}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"ibeacon\":{\"uuid\":\"e2c56db5-dffb-48d2-b060-d0f5a71096e0\",\"major\":65536,\"minor\":2}}" &&
	expect 4.00 post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"ibeacon\":{\"uuid\":\"e2c56db5-dffb-48d2-b060-d0f5a71096e0\",\"major\":1}}"
'

test_expect_success 'wrong methods are 4.05, unknown resources 4.04' '
	expect 4.05 post $BS/devices "{}" &&
	expect 4.05 delete $BS/devices &&
	expect 4.05 get $BS/scan &&
	expect 4.05 put $BS/scan "{}" &&
	expect 4.05 get $BS/sim/adv &&
	expect 4.04 get $BS/sim &&
	expect 4.04 post $BS/sim/motion "{}" &&
	expect 4.04 get $BS/devices/AA:BB:CC:DD:EE:01
'

test_expect_success 'a body over the 4 KiB limit is 4.13' '
	printf "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"name\":\"%05000d\"}" 0 >big &&
	expect 4.13 post $BS/sim/adv - <big
'

test_expect_success 'none of it changed anything, and bs still answers' '
	nano coap get $BS/devices >after &&
	sed "s/\"last_seen_ms\":[0-9]*//" before >b &&
	sed "s/\"last_seen_ms\":[0-9]*//" after >a &&
	test_cmp b a &&
	nano coap get $BS/stats >out &&
	grep "\"devices\":1," out &&
	kill -0 $bs_pid
'

test_expect_success '1,000 malformed datagrams are survived' '
	perl "$TEST_DIR/fuzz-datagrams.pl" $NET.1 5683 1000 3 >out &&
	grep "sent 1000" out &&
	nano coap get $BS/health
'

test_expect_success 'with a BlueZ adapter there is no /sim/adv' '
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/no-bus start_bg real "$NANO" bs --listen $NET.2:5683 --adapter hci0 &&
	wait_for_health coap://$NET.2 &&
	expect 4.04 post coap://$NET.2/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:01\"}" &&
	nano coap get coap://$NET.2/health >out &&
	grep "\"scanner\":\"connecting\"" out &&
	stop_bg real
'

test_expect_success 'bad flags are usage errors (exit 2) with a message' '
	L="--listen $NET.3:5683" &&
	test_expect_code 2 nano bs $L --adapter sim --scan sometimes 2>err && grep "scan" err &&
	test_expect_code 2 nano bs $L --adapter sim --rssi-min loud 2>err && grep "rssi-min" err &&
	test_expect_code 2 nano bs $L --adapter sim --rssi-min -200 2>err && grep "rssi-min" err &&
	test_expect_code 2 nano bs $L --adapter sim --forget 10x 2>err && grep "forget" err &&
	test_expect_code 2 nano bs $L --adapter sim --forget 0 2>err && grep "forget" err &&
	test_expect_code 2 nano bs $L --adapter sim --report-every -1s 2>err && grep "report-every" err &&
	test_expect_code 2 nano bs $L --adapter "../hci0" 2>err && grep "adapter" err &&
	test_expect_code 2 nano bs $L --adapter sim --location "room 1" 2>err && grep "location" err &&
	test_expect_code 2 nano bs $L --adapter sim --location "" 2>err &&
	test_expect_code 2 nano bs $L --adapter sim --mcs http://mcs 2>err && grep "mcs" err &&
	test_expect_code 2 nano bs $L --adapter sim --mcs "coap://mcs/?x=1" 2>err && grep "mcs" err &&
	NANO_SCAN=never test_expect_code 2 nano bs $L --adapter sim 2>err && grep "scan" err
'

test_expect_success 'nano bs --help names the flags' '
	nano bs --help >out &&
	for f in location adapter scan mcs forget report-every rssi-min listen; do
		grep -- "--$f" out || return 1
	done
'

test_expect_success 'bs stops cleanly, no sanitizer report' '
	stop_bg bs &&
	test "$bs_status" = 0 &&
	! grep -E "AddressSanitizer|LeakSanitizer|runtime error" bs.log real.log
'

test_done
