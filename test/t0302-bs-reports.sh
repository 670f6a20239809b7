#!/bin/sh
# nano bs reports arrivals to MCS: POST <mcs>/ble with the device shape,
# retried with backoff while MCS is down, once per --report-every per
# device; the entrance too (mcs counts them while the entrance is busy);
# a refusal (4.xx) is not retried.  The MCS here is test/coap-sink.py, which records what
# it gets.
. "$(dirname "$0")/lib.sh"

BS=coap://$NET.1
MCS=$NET.9

# wait_for_lines FILE PATTERN N: until FILE has N lines matching PATTERN (10 s)
wait_for_lines() {
	n=100
	while [ $n -gt 0 ]; do
		[ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "$1 has $(grep -c "$2" "$1" 2>/dev/null) lines matching $2, want $3" >&2
	return 1
}

test_expect_success 'setup: bs in room R1 with MCS down' '
	start_bg bs "$NANO" bs --listen $NET.1:5683 --adapter sim --location R1 \
		--mcs coap://$MCS --report-every 2s --rssi-min -80 &&
	wait_for_health $BS &&
	grep "reports_to=coap://$MCS/ble" bs.log
'

test_expect_success 'an arrival while MCS is down is retried with backoff' '
	nano coap post $BS/sim/adv "{\"addr\":\"aa:bb:cc:dd:ee:01\",\"rssi\":-50,\"name\":\"Alice\"}" &&
	wait_for_lines bs.log "report failed devices=1" 1 &&
	grep "retry_in_ms=500" bs.log &&
	nano coap get $BS/stats >out &&
	grep "\"reports_pending\":1" out
'

test_expect_success 'when MCS comes up the report arrives, in the agreed shape' '
	start_bg mcs /usr/bin/python3 "$TEST_DIR/coap-sink.py" $MCS 5683 $TMP/mcs.txt &&
	wait_for_lines mcs.txt "POST /ble" 1 &&
	grep "^POST /ble {\"location\":\"R1\",\"devices\":\[{\"addr\":\"AA:BB:CC:DD:EE:01\",\"type\":\"public\",\"rssi\":-50,\"name\":\"Alice\",\"last_seen_ms\":[0-9]*}\]}$" mcs.txt &&
	wait_for_lines bs.log "report devices=1 code=2.04" 1
'

# (A request that failed may still be retransmitted by libcoap and reach
# MCS late, so MCS can see a report twice; what bs decides is counted
# here: one report, and nothing new while the device stays, longer than
# --report-every.)
test_expect_success 'a device that stays is not reported again' '
	sleep 2.5 &&
	test "$(grep -c "report devices=1 code=2.04" bs.log)" = 1 &&
	nano coap get $BS/stats >out &&
	grep "\"reports_pending\":0" out &&
	grep "\"reports_sent\":1" out
'

test_expect_success 'a device too far away (under --rssi-min) is not reported' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":-85}" &&
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:03\",\"rssi\":-60}" &&
	wait_for_lines mcs.txt "EE:03" 1 &&
	! grep "EE:02" mcs.txt
'

test_expect_success 'coming closer than --rssi-min is an arrival' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":-40}" &&
	wait_for_lines mcs.txt "EE:02" 1
'

test_expect_success 'leaving and coming back within --report-every: reported once the window passed' '
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:04\",\"rssi\":-50,\"ttl_ms\":400}" &&
	wait_for_lines mcs.txt "EE:04" 1 &&
	wait_for_lines bs.log "sim addr=AA:BB:CC:DD:EE:04 ttl over" 1 &&
	nano coap post $BS/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:04\",\"rssi\":-50,\"ttl_ms\":60000}" &&
	nano coap get $BS/devices | grep "EE:04" &&
	test "$(grep -c "EE:04" mcs.txt)" = 1 &&
	wait_for_lines mcs.txt "EE:04" 2
'

test_expect_success 'setup: an entrance bs and a refusing MCS' '
	start_bg ent "$NANO" bs --listen $NET.2:5683 --adapter sim --location entrance --mcs coap://$MCS &&
	start_bg bad /usr/bin/python3 "$TEST_DIR/coap-sink.py" $NET.8 5683 $TMP/bad.txt 4.00 &&
	start_bg r2 "$NANO" bs --listen $NET.3:5683 --adapter sim --location R2 --mcs coap://$NET.8 &&
	wait_for_health coap://$NET.2 &&
	wait_for_health coap://$NET.3
'

test_expect_success 'the entrance reports too, with its location' '
	nano coap post coap://$NET.2/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:05\",\"rssi\":-50}" &&
	wait_for_lines mcs.txt "EE:05" 1 &&
	grep "EE:05" mcs.txt | grep -q "\"location\":\"entrance\"" &&
	grep "reports_to=coap://$MCS/ble" ent.log
'

test_expect_success 'a report MCS refuses (4.00) is dropped, not retried' '
	nano coap post coap://$NET.3/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:06\",\"rssi\":-50}" &&
	wait_for_lines r2.log "report refused devices=1 code=4.00" 1 &&
	sleep 1.5 &&
	test "$(grep -c "EE:06" bad.txt)" = 1 &&
	nano coap get coap://$NET.3/stats >out &&
	grep "\"reports_dropped\":1" out &&
	grep "\"reports_pending\":0" out
'

test_expect_success 'a report that waited for MCS says what is true when sent: a device gone meanwhile is left out, one come meanwhile joins' '
	start_bg r3 "$NANO" bs --listen $NET.4:5683 --adapter sim --location R3 --mcs coap://$NET.12 &&
	wait_for_health coap://$NET.4 &&
	nano coap post coap://$NET.4/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:31\",\"rssi\":-50,\"ttl_ms\":300}" &&
	wait_for_lines r3.log "report failed devices=1" 1 &&
	nano coap post coap://$NET.4/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:32\",\"rssi\":-50}" &&
	wait_for_lines r3.log "sim addr=AA:BB:CC:DD:EE:31 ttl over" 1 &&
	nano coap get coap://$NET.4/stats >out &&
	grep "\"peers\":{\"mcs\":{\"uri\":\"coap://$NET.12\",\"state\":\"down\"" out &&
	start_bg late /usr/bin/python3 "$TEST_DIR/coap-sink.py" $NET.12 5683 $TMP/late.txt &&
	wait_for_lines late.txt "POST /ble" 1 &&
	grep "POST /ble" late.txt | head -n 1 >first &&
	grep "EE:32" first && ! grep "EE:31" first &&
	wait_for_lines r3.log "report devices=1 code=2.04" 1 &&
	! grep "EE:31" late.txt
'

test_expect_success 'all stop cleanly, no sanitizer report' '
	stop_bg bs && test "$bs_status" = 0 &&
	stop_bg ent && test "$ent_status" = 0 &&
	stop_bg r2 && test "$r2_status" = 0 &&
	stop_bg r3 && test "$r3_status" = 0 &&
	! grep -E "AddressSanitizer|LeakSanitizer|runtime error" bs.log ent.log r2.log r3.log
'

test_done
