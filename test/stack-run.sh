# stack-run.sh - a stack file's production services as processes on this
# machine, against fake hardware (sourced after lib.sh; test/stack-plan.py
# says how each service is mapped).
#
#   stack_plan STACK BUILDING [SERVICE...]   the start lines in $TMP/plan.sh,
#                               addresses ADDR_<svc> and node roots NODE_<svc>
#                               set, the fake sysfs trees written
#   stack_keys_for BUILDING     a keys file $TMP/building.keys for the
#                               building and each service's secret
#                               (nano stack --keys), as README "Keys" has it
#   stack_buses                 a system bus with a fake bluetoothd (adapter
#                               hci0) for every node that has a bs
#   stack_start [SERVICE...]    start them (all of the plan by default); a
#                               service's pid and log are named with '_'
#                               for '-' (pd_room_pid, pd_room.log)
#   stack_ctl SERVICE ARGS...   nano coap as admin-SERVICE with the building keys
#   bus_of NODE_DIR             DBUS_SYSTEM_BUS_ADDRESS of that node
#   gpio NODE_DIR LINE          that node's value file of LINE

# Each role gets /etc/hosts of its own in a mount namespace, as a
# container does: that takes root (or CAP_SYS_ADMIN).  Natively only: what
# they check (commands, flags, paths, routes) is the same on every CPU,
# and sixteen emulated roles would cost CI minutes.
skip_all_unless DBUSMOCK,YAML,MOUNT_NS,NATIVE
# The roles run with keys, as in production: no --insecure, no NANO_HTTP.
unset NANO_INSECURE NANO_HTTP

stack_plan() {
	stack=$1 building=$2
	shift 2
	/usr/bin/python3 "$TEST_DIR/stack-plan.py" "$stack" "$building" "$NET" "$TMP" "$@" \
		>"$TMP/plan" || return 1
	grep "^ADDR_" "$TMP/plan" >"$TMP/plan.vars" &&
	grep "^start_bg " "$TMP/plan" >"$TMP/plan.sh" &&
	grep "^bus " "$TMP/plan" | cut -d" " -f2- >"$TMP/plan.buses"
	. "$TMP/plan.vars"
}

stack_keys_for() {
	nano stack --keys "$1" >"$TMP/secret-ids" &&
	nano keys new $(cut -d" " -f2- "$TMP/secret-ids" | tr " " "\n" | sort -u) \
		>"$TMP/building.keys" &&
	mkdir -p "$TMP/secrets" &&
	while read -r svc ids; do
		nano keys pick "$TMP/building.keys" $ids >"$TMP/secrets/nano-keys-$svc" || return 1
	done <"$TMP/secret-ids"
}

bus_of() { echo "unix:path=$1/run/dbus/system_bus_socket"; }
gpio() { echo "$1/sys/class/gpio/gpio$2/value"; }

# bluez_on NODE_DIR CMD ARGS...: test/bluez-ctl.py on that node's bus
bluez_on() {
	node=$1
	shift
	DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$node") /usr/bin/python3 "$TEST_DIR/bluez-ctl.py" "$@"
}

stack_buses() {
	k=0
	while read -r node adapter; do
		k=$((k + 1))
		mkdir -p "$node/run/dbus" &&
		system_bus_conf "$(bus_of "$node")" >"$TMP/bus$k.conf" &&
		start_bg bus$k dbus-daemon --config-file="$TMP/bus$k.conf" --nofork --nopidfile &&
		wait_until "test -S \"$node/run/dbus/system_bus_socket\"" &&
		DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$node") \
			start_bg bluez$k /usr/bin/python3 -m dbusmock --template bluez5 &&
		bluez_on "$node" wait &&
		bluez_on "$node" adapter "$adapter" || return 1
	done <"$TMP/plan.buses"
}

stack_start() {
	if [ $# = 0 ]; then
		. "$TMP/plan.sh"
	else
		for svc in "$@"; do
			grep "^start_bg $(echo $svc | tr - _) " "$TMP/plan.sh" >"$TMP/plan.one" || return 1
			. "$TMP/plan.one"
		done
	fi
}

stack_ctl() {
	svc=$1
	shift
	"$NANO" coap -t 3 -K "$TMP/building.keys" -u "admin-$svc" "$@"
}
