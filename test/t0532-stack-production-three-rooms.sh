#!/bin/sh
# The stack `nano stack` makes for a building of three rooms and two
# entrances (docs/building-three-rooms.json), run as production runs it
# (test/stack-plan.py, as t0531 runs stack.yml): sixteen services on six
# fake nodes.  Alice comes in by the south door to R2 and Bob by the north
# door to R3 at the same time: each entrance's PIR and radio start their
# own visit, ug lights each room's route on the LED value files, and each
# room's display shows its own meeting; R1's stays empty.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/stack-run.sh"

BUILDING=$TEST_DIR/../docs/building-three-rooms.json
ALICE=AA:BB:CC:DD:EE:01
BOB=AA:BB:CC:DD:EE:02

all_healthy() {
	while read -r svc; do
		eval "addr=\$ADDR_$svc"
		"$NANO" coap -t 0.5 get "coap://$addr/health" >/dev/null 2>&1 || return 1
	done <services
}
# lit LINE...: one of these LEDs is on now
lit() {
	for l in "$@"; do
		test "$(cat "$(gpio "$NODE_ug" $l)")" = 1 && return 0
	done
	return 1
}

test_expect_success 'setup: the stack of the building, keys, six nodes, every service started' '
	nano stack "$BUILDING" >three.yml &&
	stack_keys_for "$BUILDING" &&
	stack_plan three.yml "$BUILDING" &&
	sed "s/^start_bg \([a-z0-9_]*\) .*/\1/" plan.sh >services &&
	test "$(wc -l <services)" = 16 &&
	test "$(ls n | wc -l)" = 6 &&
	stack_buses &&
	stack_start &&
	wait_until all_healthy 300
'

peers_up() {
	stack_ctl mcs get "coaps://$ADDR_mcs/health" >health &&
	for peer in "bs north" "bs south" "bs R1" "bs R2" "bs R3" "mrs R1" "mrs R2" "mrs R3" \
			"pd R1" "pd R2" "pd R3"; do
		grep -q "\"$peer\":{[^}]*\"state\":\"up\"" health || return 1
	done
}

test_expect_success 'mcs knows both entrances and all three rooms as its peers' '
	wait_until peers_up 100
'

test_expect_success 'two meetings, in R2 and R3' '
	start=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ) &&
	end=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ) &&
	for p in alice:01:R2 bob:02:R3; do
		id=${p%%:*} rest=${p#*:} &&
		stack_ctl ae post "coaps://$ADDR_ae/participants" \
			"{\"id\":\"$id\",\"name\":\"$id\",\"ble\":\"AA:BB:CC:DD:EE:${rest%:*}\"}" &&
		stack_ctl ae post "coaps://$ADDR_ae/meetings" "{\"id\":\"m-$id\",\"title\":\"Meeting of $id\",\"room\":\"${rest#*:}\",\"organizer\":\"$id\",\"start\":\"$start\",\"end\":\"$end\",\"content\":\"# Agenda of $id\"}" || return 1
	done
'

state_of() {
	stack_ctl mcs get "coaps://$ADDR_mcs/participants" >parts &&
	grep -E "\"participant\":\"$1\".*\"state\":\"$2\"" parts
}

test_expect_success 'Alice at the south door, Bob at the north one: both guided, on their routes' '
	bluez_on "$NODE_bs_south" device hci0 $ALICE alice &&
	bluez_on "$NODE_bs_north" device hci0 $BOB bob &&
	echo 1 >"$(gpio "$NODE_pd_south" 17)" &&
	echo 1 >"$(gpio "$NODE_pd_north" 17)" &&
	wait_until "state_of alice guiding" 200 &&
	wait_until "state_of bob guiding" 200 &&
	stack_ctl ug get "coaps://$ADDR_ug/guide" >guide &&
	grep "\"participant\":\"alice\",\"room\":\"R2\"" guide &&
	grep "\"participant\":\"bob\",\"room\":\"R3\"" guide &&
	wait_until "lit 19 26" 100 &&
	wait_until "lit 20 21" 100 &&
	stack_ctl mcs get "coaps://$ADDR_mcs/timeline" >timeline &&
	grep "\"event\":\"scan\",\"who\":\"south\"" timeline &&
	grep "\"event\":\"scan\",\"who\":\"north\"" timeline
'

shows() {
	eval "addr=\$ADDR_mrs_$(echo $1 | tr R r)"
	stack_ctl mrs-$(echo $1 | tr R r) get "coaps://$addr/display" >display.$1 &&
	grep "Agenda of $2" display.$1 && grep "\"participant\":\"$2\"" display.$1
}

test_expect_success 'each arrives in their room: R2 and R3 show their meetings, R1 nothing' '
	bluez_on "$NODE_bs_r2" device hci0 $ALICE alice &&
	bluez_on "$NODE_bs_r3" device hci0 $BOB bob &&
	wait_until "shows R2 alice" 200 &&
	wait_until "shows R3 bob" 200 &&
	stack_ctl mrs-r1 get "coaps://$ADDR_mrs_r1/display" >display.R1 &&
	! grep "Agenda" display.R1 &&
	wait_until "! lit 5 6 13 19 26 20 21" 100
'

test_expect_success 'every service stops cleanly' '
	stop_cleanly $(cat services)
'

test_done
