#!/bin/sh
# nano bs --scan on-demand with the BlueZ backend: discovery runs only
# while a POST /scan waits for its answer, which lists what was heard in
# that time; StopDiscovery afterwards.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/bluez-lib.sh"

BS=coap://$NET.1

# scan_bg OUT DURATION_MS: POST /scan in the background, its pid in $scan_pid
# (a function, so that the & does not take a test's && chain with it)
scan_bg() {
	( nano coap -t 10 post $BS/scan "{\"duration_ms\":$2}" >"$1" ) &
	scan_pid=$!
}

test_expect_success 'setup: a private system bus, a fake bluetoothd with hci0, bs on demand' '
	bus_start &&
	bluez_start &&
	bluez_ctl adapter hci0 &&
	start_bg bs "$NANO" bs --listen $NET.1:5683 --adapter hci0 --scan on-demand &&
	wait_for_health $BS &&
	wait_for_scanner $BS idle
'

test_expect_success 'no discovery while nobody asks' '
	sleep 0.3 &&
	! grep "StartDiscovery" bluez-calls.log
'

test_expect_success 'a device heard before the scan, not during it, is not in the answer' '
	bluez_ctl device hci0 AA:BB:CC:DD:EE:01 Old &&
	bluez_ctl device hci0 AA:BB:CC:DD:EE:02 New &&
	sleep 0.2 &&
	scan_bg scan.out 1500 &&
	wait_for_scanner $BS discovering &&
	grep "StartDiscovery" bluez-calls.log &&
	bluez_ctl rssi hci0 AA:BB:CC:DD:EE:02 -50 &&
	wait $scan_pid &&
	grep "AA:BB:CC:DD:EE:02" scan.out &&
	! grep "AA:BB:CC:DD:EE:01" scan.out
'

test_expect_success 'discovery stops when the last scan is answered' '
	wait_for_scanner $BS idle &&
	grep "StopDiscovery" bluez-calls.log &&
	grep "discovery stopped" bs.log
'

test_expect_success 'overlapping scans share one discovery' '
	before=$(grep -c "StartDiscovery" bluez-calls.log) &&
	scan_bg s1.out 1200 && p1=$scan_pid &&
	sleep 0.3 &&
	scan_bg s2.out 600 && p2=$scan_pid &&
	wait $p2 &&
	nano coap get $BS/health | grep "\"scanner\":\"discovering\"" &&
	wait $p1 &&
	test "$(grep -c "StartDiscovery" bluez-calls.log)" = $((before + 1)) &&
	wait_for_scanner $BS idle
'

test_expect_success 'bs stops cleanly, no sanitizer report' '
	stop_bg bs &&
	test "$bs_status" = 0 &&
	! grep -E "AddressSanitizer|LeakSanitizer|runtime error" bs.log
'

test_done
