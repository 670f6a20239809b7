#!/bin/sh
# nano bs with the sim adapter, over CoAP: simulated advertisements, the
# sighting cache, /scan continuous and on demand (a separate response
# while the loop keeps serving), observe, time-to-live, --rssi-min.
. "$(dirname "$0")/lib.sh"

BS=coap://$NET.1
OD=coap://$NET.2

# count DEVICES in a /devices or /scan answer (stdin)
count() {
	/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))'
}

test_expect_success 'setup: bs at the entrance with the sim adapter' '
	start_bg bs "$NANO" bs --listen $NET.1:5683 --adapter sim --location entrance &&
	wait_for_health $BS &&
	nano coap get $BS/health >out &&
	grep "\"adapter\":\"sim\"" out &&
	grep "\"role\":\"bs\"" out
'

test_expect_success '/.well-known/core lists scan, devices (observable) and sim/adv' '
	nano coap get $BS/.well-known/core >out &&
	grep "</scan>;rt=\"nano.bs\"" out &&
	grep "</devices>;rt=\"nano.bs\";obs" out &&
	grep "</sim/adv>;rt=\"nano.bs\"" out
'

test_expect_success 'no devices at first' '
	nano coap get $BS/devices >out &&
	test "$(cat out)" = "{\"location\":\"entrance\",\"devices\":[]}"
'

test_expect_success 'a simulated advertisement is listed, address in upper case' '
	nano coap post $BS/sim/adv "{\"addr\":\"aa:bb:cc:dd:ee:01\",\"rssi\":-50,\"name\":\"Alice phone\",\"ttl_ms\":60000}" >out &&
	grep "\"addr\":\"AA:BB:CC:DD:EE:01\"" out &&
	grep "\"heard\":true" out &&
	nano coap get $BS/devices >out &&
	grep "\"addr\":\"AA:BB:CC:DD:EE:01\",\"type\":\"public\",\"rssi\":-50,\"name\":\"Alice phone\",\"last_seen_ms\":[0-9]*}" out &&
	test "$(count <out)" = 1
'

test_expect_success 'POST /scan answers from the cache at once when scanning continuously' '
	nano coap -t 2 post $BS/scan "{\"duration_ms\":30000}" >out &&
	grep "^{\"location\":\"entrance\",\"devices\":\[{\"addr\":\"AA:BB:CC:DD:EE:01\"" out
'

test_expect_success 'type random and an iBeacon are shown' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":-40,\"type\":\"random\",\"ibeacon\":{\"uuid\":\"e2c56db5-dffb-48d2-b060-d0f5a71096e0\",\"major\":1,\"minor\":2}}" &&
	nano coap get $BS/devices >out &&
	grep "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"type\":\"random\",\"rssi\":-40,\"name\":\"\",\"last_seen_ms\":[0-9]*,\"ibeacon\":{\"uuid\":\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\",\"major\":1,\"minor\":2,\"tx_power\":-59}}" out
'

test_expect_success 'devices are listed closest first' '
	nano coap get $BS/devices >out &&
	grep "\"devices\":\[{\"addr\":\"AA:BB:CC:DD:EE:02\".*\"addr\":\"AA:BB:CC:DD:EE:01\"" out
'

test_expect_success 'a device weaker than --rssi-min is kept out of the list' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:03\",\"rssi\":-95}" &&
	nano coap get $BS/devices >out &&
	! grep "AA:BB:CC:DD:EE:03" out &&
	nano coap get $BS/stats >stats &&
	grep "\"devices\":3" stats
'

test_expect_success 'advertising again updates the device (new name)' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:01\",\"rssi\":-50,\"name\":\"Alice\"}" &&
	nano coap get $BS/devices >out &&
	grep "\"name\":\"Alice\"" out &&
	! grep "Alice phone" out
'

test_expect_success 'a simulated device is gone when its ttl_ms is over' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:04\",\"rssi\":-45,\"ttl_ms\":300}" &&
	nano coap get $BS/devices >out &&
	grep "AA:BB:CC:DD:EE:04" out &&
	n=30 && while [ $n -gt 0 ] && nano coap get $BS/devices | grep -q "AA:BB:CC:DD:EE:04"; do
		sleep 0.1; n=$((n - 1)); done &&
	nano coap get $BS/devices >out &&
	! grep "AA:BB:CC:DD:EE:04" out &&
	grep "sim addr=AA:BB:CC:DD:EE:04 ttl over" bs.log
'

# Notifications are at most one a second, so the new device may come in
# the second or the third one.
test_expect_success 'observers of /devices hear of a new device' '
	start_bg obs "$NANO" coap -t 3 -n 4 observe $BS/devices &&
	sleep 0.5 &&
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:05\",\"rssi\":-60}" &&
	wait $obs_pid &&
	! head -n 1 obs.log | grep "AA:BB:CC:DD:EE:05" &&
	sed 1d obs.log | grep "AA:BB:CC:DD:EE:05"
'

test_expect_success 'setup: a second bs scanning on demand' '
	start_bg od "$NANO" bs --listen $NET.2:5683 --adapter sim --scan on-demand --location entrance &&
	wait_for_health $OD
'

test_expect_success 'on demand, nothing is heard while nobody scans' '
	nano coap post $OD/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:11\",\"rssi\":-50,\"name\":\"Bob\"}" >out &&
	grep "\"heard\":false" out &&
	nano coap get $OD/devices >out &&
	test "$(count <out)" = 0
'

test_expect_success 'a scan answers after its duration; the loop serves meanwhile' '
	( nano coap -t 10 post $OD/scan "{\"duration_ms\":2000}" >scan.out; echo $? >scan.rc ) & scan=$!
	sleep 0.5 &&
	nano coap -t 1 get $OD/devices >out &&
	grep "AA:BB:CC:DD:EE:11" out &&
	nano coap -t 1 get $OD/health &&
	kill -0 $scan &&
	test ! -s scan.out &&
	wait $scan &&
	test "$(cat scan.rc)" = 0 &&
	grep "^{\"location\":\"entrance\",\"devices\":\[{\"addr\":\"AA:BB:CC:DD:EE:11\",\"type\":\"public\",\"rssi\":-50,\"name\":\"Bob\"" scan.out &&
	grep "scan started duration_ms=2000" od.log &&
	grep "scan done" od.log
'

test_expect_success 'an on-demand scan lists only what it heard, not what left before' '
	nano coap post $OD/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:12\",\"rssi\":-50,\"ttl_ms\":1}" &&
	sleep 0.2 &&
	nano coap -t 5 post $OD/scan "{\"duration_ms\":300}" >out &&
	grep "AA:BB:CC:DD:EE:11" out &&
	! grep "AA:BB:CC:DD:EE:12" out
'

test_expect_success 'several scans at once are each answered' '
	( nano coap -t 10 post $OD/scan "{\"duration_ms\":800}" >s1.out ) & p1=$!
	( nano coap -t 10 post $OD/scan "{\"duration_ms\":400}" >s2.out ) & p2=$!
	( nano coap -t 10 post $OD/scan "{\"duration_ms\":600}" >s3.out ) & p3=$!
	wait $p1 && wait $p2 && wait $p3 &&
	grep "AA:BB:CC:DD:EE:11" s1.out &&
	grep "AA:BB:CC:DD:EE:11" s2.out &&
	grep "AA:BB:CC:DD:EE:11" s3.out &&
	nano coap get $OD/stats >out &&
	grep "\"scans_waiting\":0" out
'

test_expect_success 'duration_ms 0 answers from the cache at once' '
	nano coap -t 1 post $OD/scan "{\"duration_ms\":0}" >out &&
	grep "AA:BB:CC:DD:EE:11" out
'

test_expect_success 'SIGTERM with a scan waiting: it is answered, clean exit, no sanitizer report' '
	( nano coap -t 10 post $OD/scan "{\"duration_ms\":20000}" >pending.out ) & pending=$!
	sleep 0.3 &&
	stop_bg od &&
	test "$od_status" = 0 &&
	stop_bg bs &&
	test "$bs_status" = 0 &&
	! grep -E "AddressSanitizer|LeakSanitizer|runtime error" bs.log od.log &&
	wait $pending &&
	grep "AA:BB:CC:DD:EE:11" pending.out
'

test_done
