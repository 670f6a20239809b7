# flow.sh - helpers for the meeting-flow tests (t04NN), sourced after lib.sh.
#
# The real roles on the file's own net, each with simulated hardware:
#   ae NET.1  mcs NET.2  ug NET.3  pd entrance NET.4  bs entrance NET.5
#   pd room NET.6  bs room NET.7  mrs R1 NET.10 (R2 NET.11 ...)
# The paper's people: alice (organizer), bob, carl, david in meeting m1,
# room R1, on now; their keys AA:BB:CC:DD:EE:01..04.  Eve's key
# EE:0E:0E:0E:0E:05 is unknown to AE.


AE=coap://$NET.1
MCS=coap://$NET.2
UG=coap://$NET.3
PD=coap://$NET.4
BS=coap://$NET.5
PDR=coap://$NET.6
BSR=coap://$NET.7
MRS=coap://$NET.10
EVE=EE:0E:0E:0E:0E:05

# ble_of NAME: the paper's participants' keys
ble_of() {
	case $1 in
	alice) echo AA:BB:CC:DD:EE:01 ;; bob) echo AA:BB:CC:DD:EE:02 ;;
	carl) echo AA:BB:CC:DD:EE:03 ;; david) echo AA:BB:CC:DD:EE:04 ;;
	eve) echo $EVE ;; *) echo "$1" ;;
	esac
}

# pyjson FILE EXPR: print EXPR evaluated with d = the JSON in FILE
# (Debian's python3 on purpose: see HELPERS).
pyjson() {
	/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$@"
}

# when MINUTES_FROM_NOW: an RFC 3339 UTC time
when() {
	date -u -d "$1 min" +%Y-%m-%dT%H:%M:%SZ
}

# seed_paper [END_MINUTES]: seed.json with the paper's meeting in R1
seed_paper() {
	cat >"$TMP/seed.json" <<EOF
{"participants":[
 {"id":"alice","name":"Alice","ble":"AA:BB:CC:DD:EE:01"},
 {"id":"bob","name":"Bob","ble":"AA:BB:CC:DD:EE:02"},
 {"id":"carl","name":"Carl","ble":"AA:BB:CC:DD:EE:03"},
 {"id":"david","name":"David","ble":"AA:BB:CC:DD:EE:04"}],
 "meetings":[{"id":"m1","title":"Kickoff","room":"R1","organizer":"alice",
  "start":"$(when -5)","end":"$(when ${1:-60})",
  "participants":["bob","carl","david"],
  "content":"Agenda: nanoservices at the local IoT edge"}]}
EOF
}

# start_X [ARGS]: the role under its usual name; AS=NAME start_X starts
# it under another name (a restart keeps the first one's log).
start_ae() {
	start_bg ${AS:-ae} "$NANO" ae --listen $NET.1:${PORT:-5683} --db "$TMP/ae.db" \
		--backup-dir "$TMP/backup" --seed "$TMP/seed.json" "$@"
}

# start_mcs [ARGS]: quick peer checks so that faults are noticed fast
start_mcs() {
	start_bg mcs "$NANO" mcs --listen $NET.2:${PORT:-5683} --ae $AE --ug $UG \
		--bs $BS --bs-room $BSR --pd-room $PDR --mrs $MRS \
		--watch 500ms --retry-max 500ms "$@"
}

start_ug() {
	start_bg ${AS:-ug} "$NANO" ug --listen $NET.3:${PORT:-5683} --leds sim:1,2,3,4 \
		--route R1=1,2,3 --route R2=1,2,4 "$@"
}

# start_mrs ROOM HOSTNUM
start_mrs() {
	start_bg "mrs$1" "$NANO" mrs --listen $NET.$2:${PORT:-5683} --room "$1" --ae $AE
}

# start_pd NAME LOCATION HOSTNUM / start_bs NAME LOCATION HOSTNUM
start_pd() {
	start_bg "$1" "$NANO" pd --listen $NET.$3:${PORT:-5683} --location "$2" \
		--sensor sim --mcs $MCS --hold 100ms
}
start_bs() {
	start_bg "${AS:-$1}" "$NANO" bs --listen $NET.$3:${PORT:-5683} --location "$2" \
		--adapter sim --mcs $MCS
}

# start_flow: every role of the paper's scenario, healthy
start_flow() {
	start_ae && start_mcs "$@" && start_ug && start_mrs R1 10 &&
	start_pd pd entrance 4 && start_bs bs entrance 5 &&
	start_pd pdr room 6 && start_bs bsr room 7 &&
	for h in 1 2 3 4 5 6 7 10; do wait_for_health coap://$NET.$h || return 1; done
}

# adv BS_URI NAME_OR_BLE [TTL_MS]: a key in range of a bs
adv() {
	"$NANO" coap post "$1/sim/adv" \
		"{\"addr\":\"$(ble_of "$2")\",\"rssi\":-55,\"name\":\"ring\",\"ttl_ms\":${3:-60000}}" >/dev/null
}

# motion PD_URI: a PIR sees someone (on, then off)
motion() {
	"$NANO" coap post "$1/sim/motion" '{"motion":true}' >/dev/null &&
	sleep 0.15 &&
	"$NANO" coap post "$1/sim/motion" '{"motion":false}' >/dev/null
}

# arrive NAME: at the entrance (key, then motion); reach_room NAME
arrive() { adv $BS "$1" && motion $PD; }
reach_room() { adv $BSR "$1" && motion $PDR; }

# track NAME: mcs's entry for a participant or key, as JSON (or null)
track() {
	"$NANO" coap get "$MCS/participants" >"$TMP/.participants" &&
	pyjson "$TMP/.participants" "next((t for t in d['participants'] if t.get('participant') == '$1' or t['ble'] == '$(ble_of "$1")'), None)"
}

state_of() {
	track "$1" >"$TMP/.track" && pyjson "$TMP/.track" "d['state'] if d else 'none'"
}

# wait_state NAME STATE [TRIES of 100 ms]
wait_state() {
	n=${3:-100}
	while [ "$n" -gt 0 ]; do
		s=$(state_of "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "$1 is $s, not $2" >&2
	return 1
}

# ae_events FILE: AE's whole event log
ae_events() {
	"$NANO" coap get "$AE/events?limit=1000" >"$1"
}

# auth_decisions BLE DECISION: how many auth events AE logged for BLE
auth_decisions() {
	ae_events "$TMP/.events" &&
	pyjson "$TMP/.events" "sum(1 for e in d['events'] if e.get('kind') == 'auth' and e.get('ble') == '$(ble_of "$1")' and e.get('decision') == '$2')"
}

# ug_starts NAME: "guide start" lines for NAME in ug's log(s) named
ug_starts() {
	p=$1
	shift
	cat "$@" | grep -c "guide start participant=$p "
}

# guided_at_ug NAME ROOM: ug's GET /guide lists NAME guided to ROOM
guided_at_ug() {
	"$NANO" coap get $UG/guide | grep -q "\"participant\":\"$1\",\"room\":\"$2\""
}

# guidance_is NAME on|off|pending|...: mcs's view of NAME's guidance
guidance_is() {
	track "$1" >"$TMP/.g" && test "$(pyjson "$TMP/.g" "d['guidance'] if d else None")" = "$2"
}

# peers_up: mcs's /health shows no peer down
peers_up() {
	"$NANO" coap get $MCS/health >"$TMP/.h" && ! grep -q '"state":"down"' "$TMP/.h"
}

# decisions_are NAME DECISION N: AE logged exactly N such decisions
decisions_are() {
	test "$(auth_decisions "$1" "$2")" = "$3"
}

# peer_state NAME STATE: mcs's /health says peer NAME ("ae", "bs entrance") is STATE
peer_state() {
	"$NANO" coap get $MCS/health >"$TMP/.h" &&
	test "$(pyjson "$TMP/.h" "d['peers']['$1']['state']")" = "$2"
}

# peer_parked NAME N: N calls wait for peer NAME at mcs
peer_parked() {
	"$NANO" coap get $MCS/health >"$TMP/.h" &&
	test "$(pyjson "$TMP/.h" "d['peers']['$1']['parked']")" = "$2"
}

# display_is KEY VALUE: mrs's display has KEY = VALUE (null for none)
display_is() {
	"$NANO" coap get $MRS/display >"$TMP/.d" &&
	test "$(pyjson "$TMP/.d" "d['$1']")" = "$2"
}

# display_lists NAME: NAME is among the display's attendees
display_lists() {
	"$NANO" coap get $MRS/display >"$TMP/.d" &&
	test "$(pyjson "$TMP/.d" "'$1' in [a['participant'] for a in d['attendees']]")" = true
}

# present_code PARTICIPANT MEETING: the CoAP code of POST mrs/present
present_code() {
	"$NANO" coap -v post $MRS/present "{\"participant\":\"$1\",\"meeting\":\"$2\"}" 2>&1 >/dev/null |
		head -n 1
}

# ug_active N: ug guides N participants
ug_active() {
	"$NANO" coap get $UG/stats >"$TMP/.s" &&
	test "$(pyjson "$TMP/.s" "d['active']")" = "$1"
}
