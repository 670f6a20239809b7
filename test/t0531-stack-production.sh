#!/bin/sh
# stack.yml as production runs it, without Docker and without stack.sim.yml:
# every service's own command and environment (test/stack-plan.py), with
# DTLS keys from its secret, on its own 127.x address, its node's fake
# sysfs GPIO tree at the stack's sysfs root and a fake bluetoothd on a
# system bus at the stack's D-Bus socket path.  Motion written to the
# entrance PIR's value file and Alice's phone on the entrance's radio
# light ug's LED value files; her phone in the room puts the meeting on
# mrs's display, and the LEDs go dark.  A stack with the wrong LED route
# or PIR line, or a sysfs root the mount does not fill, does not start; a
# bs without the D-Bus mount never reaches BlueZ.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/stack-run.sh"

ROOT=$TEST_DIR/..
STACK=$ROOT/stack.yml
BUILDING=$ROOT/docs/building.json
ALICE=AA:BB:CC:DD:EE:01
SERVICES="ae mcs mrs pd_entrance bs_entrance pd_room bs_room ug"

all_healthy() {
	for svc in $SERVICES; do
		eval "addr=\$ADDR_$svc"
		"$NANO" coap -t 0.5 get "coap://$addr/health" >/dev/null 2>&1 || return 1
	done
}
leds() {
	for l in 5 6 13 19; do cat "$(gpio "$NODE_ug" $l)"; done | tr -d "\n"
}

test_expect_success 'setup: keys, fake nodes, buses with hci0, every service started' '
	stack_keys_for "$BUILDING" &&
	stack_plan "$STACK" "$BUILDING" &&
	test "$(wc -l <plan.sh)" = 8 &&
	stack_buses &&
	started=$(date +%s%N) &&
	stack_start &&
	wait_until all_healthy 200 &&
	echo "$(( ($(date +%s%N) - started) / 1000000 ))" >healthy_ms
'

say "all 8 services healthy $(cat healthy_ms 2>/dev/null) ms after their start"

test_expect_success 'every role runs with its secret (DTLS) and the stack'\''s hardware' '
	grep "identity=pd-entrance" pd_entrance.log &&
	grep "gpio=sysfs:17" pd_room.log &&
	test "$(cat "$NODE_ug/sys/class/gpio/gpio19/direction")" = out &&
	test "$(cat "$NODE_pd_entrance/sys/class/gpio/gpio17/edge")" = both &&
	wait_until "grep -q \"bluez adapter=hci0 discovering\" bs_entrance.log" 100 &&
	wait_until "grep -q \"bluez adapter=hci0 discovering\" bs_room.log" 100 &&
	test_expect_code 1 "$NANO" coap -v -t 2 get "coap://$ADDR_ae/participants" 2>err &&
	grep "^4.01" err
'

test_expect_success 'the meeting is created in ae by admin-ae' '
	start=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ) &&
	end=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ) &&
	stack_ctl ae post "coaps://$ADDR_ae/participants" \
		"{\"id\":\"alice\",\"name\":\"Alice\",\"ble\":\"$ALICE\"}" &&
	stack_ctl ae post "coaps://$ADDR_ae/meetings" "{\"id\":\"m1\",\"title\":\"Kickoff\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$start\",\"end\":\"$end\",\"content\":\"# Kickoff agenda\"}"
'

guided() {
	stack_ctl mcs get "coaps://$ADDR_mcs/participants" >parts &&
	grep -E "\"participant\":\"alice\".*\"state\":\"guiding\"" parts
}

test_expect_success 'motion on the entrance PIR + her phone at the entrance: ug lights the LEDs' '
	bluez_on "$NODE_bs_entrance" device hci0 $ALICE "Alice phone" &&
	echo 1 >"$(gpio "$NODE_pd_entrance" 17)" &&
	wait_until guided 200 &&
	stack_ctl ug get "coaps://$ADDR_ug/guide" | grep "\"participant\":\"alice\",\"room\":\"R1\"" &&
	wait_until "leds | grep -q 1" 100 &&
	echo 0 >"$(gpio "$NODE_pd_entrance" 17)"
'

shown() {
	stack_ctl mrs get "coaps://$ADDR_mrs/display" >display &&
	grep "Kickoff agenda" display && grep "\"participant\":\"alice\"" display
}

test_expect_success 'her phone in the room: mrs shows the meeting, the LEDs go dark' '
	bluez_on "$NODE_bs_room" device hci0 $ALICE "Alice phone" &&
	echo 1 >"$(gpio "$NODE_pd_room" 17)" &&
	wait_until shown 200 &&
	wait_until "test \"\$(leds)\" = 0000" 100 &&
	stack_ctl mcs get "coaps://$ADDR_mcs/participants" |
		grep -E "\"participant\":\"alice\".*\"state\":\"presenting\""
'

test_expect_success 'every service stops cleanly; ae leaves its backup in its volume' '
	stop_cleanly $SERVICES &&
	ls "$TMP"/volumes/ae-data/backup/ae-*.db &&
	test -s "$TMP/volumes/ae-data/ae.db"
'

# The same stack with one thing wrong: the role does not start.
test_expect_success 'the LED route of the issue (R1=1,2,3,4 for LEDs 5,6,13,19): ug refuses' '
	sed "s/\"R1=5,6,13,19\"/\"R1=1,2,3,4\"/" "$STACK" >bad.yml &&
	stack_plan bad.yml "$BUILDING" ug &&
	stack_start &&
	wait_until "! running \$ug_pid" 100 &&
	stop_bg ug && test "$ug_status" != 0 &&
	grep -- "--route R1 uses line 1, which is not in --leds" ug.log
'

test_expect_success 'a PIR line the node does not have: pd refuses' '
	sed "/pd-room:/,/NANO_SENSOR/ s/sysfs:17/sysfs:18/" "$STACK" >bad.yml &&
	stack_plan bad.yml "$BUILDING" pd-room &&
	stack_start &&
	wait_until "! running \$pd_room_pid" 100 &&
	stop_bg pd_room; test "$pd_room_status" = 1 &&
	grep "gpio18 did not appear after export" pd_room.log
'

test_expect_success 'a sysfs root where the mount does not put class/gpio: ug refuses' '
	sed "/^  ug:/,/^$/ s|/host/sys/class/gpio|/host/sys/gpio|" "$STACK" >bad.yml &&
	grep -c "/host/sys/gpio" bad.yml >count && test "$(cat count)" = 1 &&
	stack_plan bad.yml "$BUILDING" ug &&
	stack_start &&
	wait_until "! running \$ug_pid" 100 &&
	stop_bg ug; test "$ug_status" = 1
'

test_expect_success 'bs without the mount of /run/dbus: it never reaches BlueZ' '
	sed "/^  bs-room:/,/^$/ { /run\/dbus:/d }" "$STACK" >bad.yml &&
	! sed -n "/^  bs-room:/,/^$/p" bad.yml | grep dbus &&
	stack_plan bad.yml "$BUILDING" bs-room &&
	stack_start &&
	wait_for_health "coap://$ADDR_bs_room" &&
	sleep 1.5 &&
	"$NANO" coap get "coap://$ADDR_bs_room/health" | grep "\"scanner\":\"connecting\"" &&
	stop_cleanly bs_room
'

test_done
