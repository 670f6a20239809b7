#!/bin/sh
# nano bs's real backend, BlueZ over D-Bus, against a fake org.bluez on a
# private dbus-daemon: the discovery filter, devices found, RSSI changes,
# address type, an iBeacon, advertising data, removal and forgetting, a
# forged signal; then the fake bluetoothd is killed mid-scan (the cache
# stays) and comes back (discovery restarts), and the bus itself dies and
# comes back.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/bluez-lib.sh"

BS=coap://$NET.1
FG=coap://$NET.2

field() {   # field ADDR KEY < /devices answer
	/usr/bin/python3 -c 'import json,sys
d = [x for x in json.load(sys.stdin)["devices"] if x["addr"] == sys.argv[1]]
print(d[0][sys.argv[2]] if d else "absent")' "$@"
}

test_expect_success 'setup: a private system bus, a fake bluetoothd with hci0, bs' '
	bus_start &&
	bluez_start &&
	bluez_ctl adapter hci0 &&
	start_bg bs "$NANO" bs --listen $NET.1:5683 --adapter hci0 --location entrance --log-level debug &&
	wait_for_health $BS &&
	wait_for_scanner $BS discovering
'

test_expect_success 'discovery runs with the filter {Transport: le, DuplicateData: true}' '
	test "$(bluez_ctl filter hci0)" = "DuplicateData=1 Transport=le" &&
	grep "SetDiscoveryFilter" bluez-calls.log &&
	grep "StartDiscovery" bluez-calls.log &&
	grep "bluez adapter=hci0 discovering transport=le duplicates=on" bs.log
'

test_expect_success 'a device found by BlueZ is listed (InterfacesAdded)' '
	bluez_ctl device hci0 aa:bb:cc:dd:ee:01 "Alice phone" &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	grep "{\"addr\":\"AA:BB:CC:DD:EE:01\",\"type\":\"public\",\"rssi\":-79,\"name\":\"Alice phone\",\"last_seen_ms\":[0-9]*}" out
'

test_expect_success 'a new RSSI moves the smoothed RSSI toward it (PropertiesChanged)' '
	bluez_ctl rssi hci0 AA:BB:CC:DD:EE:01 -40 &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	rssi=$(field AA:BB:CC:DD:EE:01 rssi <out) &&
	test "$rssi" -gt -79 && test "$rssi" -lt -40
'

test_expect_success 'AddressType random is shown' '
	bluez_ctl random hci0 AA:BB:CC:DD:EE:01 &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	test "$(field AA:BB:CC:DD:EE:01 type <out)" = random
'

test_expect_success 'iBeacon manufacturer data is parsed' '
	bluez_ctl ibeacon hci0 AA:BB:CC:DD:EE:01 e2c56db5-dffb-48d2-b060-d0f5a71096e0 7 9 &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	grep "\"ibeacon\":{\"uuid\":\"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0\",\"major\":7,\"minor\":9,\"tx_power\":-59}" out
'

test_expect_success 'advertising data without a new RSSI still counts as heard' '
	sleep 1 &&
	nano coap get $BS/devices >out &&
	test "$(field AA:BB:CC:DD:EE:01 last_seen_ms <out)" -ge 900 &&
	bluez_ctl adv hci0 AA:BB:CC:DD:EE:01 &&
	sleep 0.2 &&
	nano coap get $BS/devices >out &&
	test "$(field AA:BB:CC:DD:EE:01 last_seen_ms <out)" -lt 900
'

test_expect_success 'a signal from another bus client than org.bluez is not believed' '
	bluez_ctl forge $bs_pid 66:66:66:66:66:66 &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	! grep "66:66:66:66:66:66" out &&
	grep "ignored signal from" bs.log
'

test_expect_success 'setup: a second bs that forgets after 1 s' '
	start_bg fg "$NANO" bs --listen $NET.2:5683 --adapter hci0 --forget 1s &&
	wait_for_scanner $FG discovering
'

test_expect_success 'a device BlueZ removes stays until --forget, then is forgotten' '
	bluez_ctl device hci0 AA:BB:CC:DD:EE:02 Bob &&
	sleep 0.2 &&
	bluez_ctl remove hci0 AA:BB:CC:DD:EE:02 &&
	nano coap get $FG/devices >out &&
	grep "AA:BB:CC:DD:EE:02" out &&
	sleep 1.5 &&
	nano coap get $FG/devices >out &&
	! grep "AA:BB:CC:DD:EE:02" out &&
	grep "forgot=" fg.log &&
	stop_bg fg && test "$fg_status" = 0
'

test_expect_success 'the fake bluetoothd is killed mid-scan: bs keeps what it saw' '
	bluez_ctl rssi hci0 AA:BB:CC:DD:EE:01 -45 &&
	stop_bg bluez KILL &&
	wait_for_scanner $BS no-bluez &&
	nano coap get $BS/devices >out &&
	grep "AA:BB:CC:DD:EE:01" out &&
	nano coap post $BS/scan "{\"duration_ms\":100}" >out &&
	grep "AA:BB:CC:DD:EE:01" out &&
	nano coap get $BS/health >out &&
	grep "\"status\":\"ok\"" out &&
	grep "org.bluez left the bus; keeping the sightings" bs.log
'

test_expect_success 'org.bluez returns without the adapter: bs waits for it' '
	bluez_start calls2.log &&
	wait_for_scanner $BS no-adapter &&
	! grep StartDiscovery calls2.log
'

test_expect_success 'the adapter appears: the filter is set and discovery restarts' '
	bluez_ctl adapter hci0 &&
	wait_for_scanner $BS discovering &&
	grep "SetDiscoveryFilter" calls2.log &&
	grep "StartDiscovery" calls2.log &&
	bluez_ctl device hci0 AA:BB:CC:DD:EE:03 Carl &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	grep "AA:BB:CC:DD:EE:03" out &&
	grep "AA:BB:CC:DD:EE:01" out
'

test_expect_success 'the bus itself goes away and comes back: bs reconnects' '
	stop_bg bluez &&
	stop_bg bus &&
	wait_for_scanner $BS connecting &&
	nano coap get $BS/devices >out &&
	grep "AA:BB:CC:DD:EE:03" out &&
	bus_start &&
	bluez_start calls3.log &&
	bluez_ctl adapter hci0 &&
	wait_for_scanner $BS discovering &&
	grep "StartDiscovery" calls3.log &&
	grep "bus connection lost; reconnecting" bs.log &&
	bluez_ctl device hci0 AA:BB:CC:DD:EE:04 David &&
	sleep 0.3 &&
	nano coap get $BS/devices >out &&
	grep "AA:BB:CC:DD:EE:04" out
'

test_expect_success 'bs stops cleanly, no sanitizer report' '
	stop_bg bs &&
	test "$bs_status" = 0 &&
	! grep -E "AddressSanitizer|LeakSanitizer|runtime error" bs.log fg.log
'

test_done
