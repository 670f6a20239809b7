# bluez-lib.sh - a private system bus with a fake org.bluez, for the tests
# of nano bs's BlueZ backend (sourced after lib.sh).
#
#   bus_start                  dbus-daemon on $TMP/system_bus_socket, exported
#                              as DBUS_SYSTEM_BUS_ADDRESS (kill: stop_bg bus)
#   bluez_start [LOG]          the fake bluetoothd: python3-dbusmock's bluez5
#                              template, method calls logged to LOG (kill: stop_bg bluez)
#   bluez_ctl CMD ARGS...      test/bluez-ctl.py (adapter, device, rssi, remove, ...)
#   wait_for_scanner URI STATE until GET URI/health says "scanner":"STATE"
#
# python3-dbusmock's template is used as it is: it already implements
# Adapter1 (SetDiscoveryFilter, StartDiscovery, StopDiscovery, RemoveDevice)
# and ObjectManager with InterfacesAdded/Removed, and its Mock interface
# changes properties with real PropertiesChanged signals; bluez-ctl.py only
# adds what a radio would do (RSSI, advertising data, an iBeacon).

skip_all_unless DBUSMOCK

DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/system_bus_socket
export DBUS_SYSTEM_BUS_ADDRESS

bus_start() {
	system_bus_conf "unix:path=$TMP/system_bus_socket" >"$TMP/bus.conf"
	rm -f "$TMP/system_bus_socket"
	start_bg bus dbus-daemon --config-file="$TMP/bus.conf" --nofork --nopidfile &&
	n=50 && while [ $n -gt 0 ] && [ ! -S "$TMP/system_bus_socket" ]; do
		sleep 0.1; n=$((n - 1)); done &&
	[ -S "$TMP/system_bus_socket" ]
}

bluez_start() {
	start_bg bluez /usr/bin/python3 -m dbusmock --template bluez5 -l "$TMP/${1:-bluez-calls.log}" &&
	bluez_ctl wait
}

bluez_ctl() {
	/usr/bin/python3 "$TEST_DIR/bluez-ctl.py" "$@"
}

wait_for_scanner() {
	n=100
	while [ $n -gt 0 ]; do
		"$NANO" coap -t 0.5 get "$1/health" 2>/dev/null | grep -q "\"scanner\":\"$2\"" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "scanner of $1 is not $2: $("$NANO" coap -t 0.5 get "$1/health" 2>&1)" >&2
	return 1
}
