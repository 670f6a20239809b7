#!/bin/sh
# nano stack: stack.yml and stack.sim.yml are exactly its output for the
# paper's building (docs/building.json), and the identities of each secret
# are those test/stack-keys.sh provisions; a three-room, two-entrance
# building (docs/building-three-rooms.json) gives one pd and bs per
# location and one mrs per room, each placed by its label; every bad
# description is refused with exit 1 and a line saying where and why,
# nothing on stdout, and never a crash.
. "$(dirname "$0")/lib.sh"

ROOT=$TEST_DIR/..
PAPER=$ROOT/docs/building.json
THREE=$ROOT/docs/building-three-rooms.json

test_expect_success 'stack.yml is `nano stack docs/building.json`, byte for byte' '
	nano stack "$PAPER" >stack.yml &&
	test_cmp "$ROOT/stack.yml" stack.yml
'

test_expect_success 'stack.sim.yml is `nano stack --sim docs/building.json`' '
	nano stack --sim "$PAPER" >stack.sim.yml &&
	test_cmp "$ROOT/stack.sim.yml" stack.sim.yml
'

test_expect_success 'each secret holds what test/stack-keys.sh gives it (README, "Keys")' '
	. "$TEST_DIR/stack-keys.sh" &&
	nano stack --keys "$PAPER" >keys &&
	for svc in $STACK_SERVICES; do echo $svc $(stack_secret_ids $svc); done >want &&
	sort want >want.sorted && sort keys >keys.sorted &&
	test_cmp want.sorted keys.sorted
'

# services NAME: the fields of one service of a stack file, as Python sees
# them (the YAML the stack deploys, anchors and merge keys resolved)
yaml_of() {
	/usr/bin/python3 -c 'import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
for name, s in d["services"].items():
    c = s.get("deploy", {}).get("placement", {}).get("constraints", [])
    print(name, json.dumps(s.get("command")), json.dumps(s.get("environment")), json.dumps(c))' "$1"
}

test_expect_success YAML 'three rooms, two entrances: a pd and bs per location, an mrs per room' '
	nano stack "$THREE" >three.yml &&
	yaml_of three.yml >svc &&
	test "$(cut -d" " -f1 svc | tr "\n" " ")" = "ae mcs mrs-r1 mrs-r2 mrs-r3 pd-north bs-north pd-south bs-south pd-r1 bs-r1 pd-r2 bs-r2 pd-r3 bs-r3 ug " &&
	grep "^pd-south \[\"pd\", \"--location\", \"south\", \"--sysfs-root\", \"/host/sys/class/gpio\"\] {\"NANO_SENSOR\": \"sysfs:17\"} \[\"node.labels.nano.entrance.south == true\"\]" svc &&
	grep "^bs-r2 \[\"bs\", \"--location\", \"R2\"\] {\"NANO_ADAPTER\": \"hci0\"} \[\"node.labels.nano.room.R2 == true\"\]" svc &&
	grep "^mrs-r3 \[\"mrs\", \"--room\", \"R3\", \"--http\", \"0.0.0.0:8080\"\] null \[\"node.labels.nano.room.R3 == true\"\]" svc &&
	grep "^ug \[\"ug\", \"--route\", \"R1=5,6,13\", \"--route\", \"R2=5,6,19,26\", \"--route\", \"R3=5,20,21\", \"--sysfs-root\", \"/host/sys/class/gpio\"\] {\"NANO_LEDS\": \"sysfs:5,6,13,19,26,20,21\"} \[\"node.labels.nano.core == true\"\]" svc &&
	grep "^mcs \[\"mcs\", \"--bs\", \"north=coaps://bs-north\", \"--bs\", \"south=coaps://bs-south\", \"--bs-room\", \"R1=coaps://bs-r1\", \"--bs-room\", \"R2=coaps://bs-r2\", \"--bs-room\", \"R3=coaps://bs-r3\", \"--pd-room\", \"R1=coaps://pd-r1\", \"--pd-room\", \"R2=coaps://pd-r2\", \"--pd-room\", \"R3=coaps://pd-r3\", \"--mrs\", \"R1=coaps://mrs-r1\", \"--mrs\", \"R2=coaps://mrs-r2\", \"--mrs\", \"R3=coaps://mrs-r3\"\]" svc &&
	grep -c "published: 808[123], protocol: tcp, mode: host" three.yml >ports &&
	test "$(cat ports)" = 3
'

test_expect_success YAML 'its sim override names every pd, bs and ug, and nothing else' '
	nano stack --sim "$THREE" >three.sim.yml &&
	/usr/bin/python3 -c "import yaml, sys
print(\" \".join(sorted(yaml.safe_load(open(\"three.sim.yml\"))[\"services\"])))" >names &&
	test "$(cat names)" = "bs-north bs-r1 bs-r2 bs-r3 bs-south pd-north pd-r1 pd-r2 pd-r3 pd-south ug"
'

test_lazy_prereq STACK_CONFIG 'docker stack config --help' 'docker stack config (Docker CLI 20.10 or later)'
test_expect_success DOCKER,STACK_CONFIG 'docker stack config takes both buildings, with their sim overrides' '
	nano stack --sim "$THREE" >three.sim.yml &&
	nano stack "$THREE" >three.yml &&
	docker stack config -c three.yml -c three.sim.yml >merged.yml &&
	grep "NANO_SENSOR: sim" merged.yml &&
	docker stack config -c "$ROOT/stack.yml" -c "$ROOT/stack.sim.yml" >/dev/null
'

# refused 'EXPECTED MESSAGE' JSON: exit 1, the message, nothing printed
refused() {
	printf "%s" "$2" >bad.json &&
	test_expect_code 1 "$NANO" stack bad.json >out 2>err &&
	test ! -s out &&
	grep -F "stack: bad.json: $1" err || { cat err; return 1; }
}

# A good building to break one field of: jq is not needed, sed is enough.
GOOD='{"core":{"node":"nano.core"},"guide":{"node":"nano.guide","leds":[5,6,13,19]},"entrances":[{"id":"entrance","node":"nano.entrance","pir":17}],"rooms":[{"id":"R1","node":"nano.room","pir":17,"route":[5,6,13,19]},{"id":"R2","node":"nano.room2","pir":17,"route":[5,6]}]}'
good() { echo "$GOOD" | sed "$1"; }

test_expect_success 'the good building the next tests break is good' '
	echo "$GOOD" >good.json &&
	nano stack good.json >out &&
	grep "R2=coaps://bs-r2" out
'

test_expect_success 'a route over a line that is not one of the LEDs' '
	refused "rooms[1].route uses line 7, which is not one of guide.leds" "$(good "s/\[5,6\]/[5,7]/")"
'

test_expect_success 'the same room twice, an entrance named like a room' '
	refused "rooms[1].id '\''R1'\'' is also rooms[0]'\''s" "$(good "s/\"R2\"/\"R1\"/")" &&
	refused "rooms[0].id '\''entrance'\'' is also entrances[0]'\''s" "$(good "s/\"R1\"/\"entrance\"/")"
'

test_expect_success 'ids by the wire contract (src/wire.h) and as key identities' '
	refused "rooms[0].id may only hold" "$(good "s/\"R1\"/\"R 1\"/")" &&
	refused "entrances[0].id is empty" "$(good "s/\"entrance\"/\"\"/")" &&
	long=$(printf "%060d" 0 | tr 0 a) &&
	refused "rooms[1].id '\''$long'\'' makes no service name" "$(good "s/\"R2\"/\"$long\"/")" &&
	refused "rooms[1]: identity '\''kiosk-$long'\'' is not a key identity" \
		"$(good "s/\"R2\"/\"$long\"/; s/\[5,6\]/&,\"services\":{\"pd\":\"p\",\"bs\":\"b\",\"mrs\":\"m\"}/")"
'

test_expect_success 'GPIO lines: twice on one label, twice in a list, not a line' '
	refused "GPIO line 5 is used twice on the nodes labelled nano.room=true: by guide.leds and by rooms[0].pir" \
		"$(good "s/\"nano.guide\"/\"nano.room\"/; s/\"pir\":17,\"route\":\[5,6,13/\"pir\":5,\"route\":[5,6,13/")" &&
	refused "GPIO line 17 is used twice on the nodes labelled nano.room=true: by rooms[0].pir and by rooms[1].pir" \
		"$(good "s/nano.room2/nano.room/")" &&
	refused "rooms[1].route lists line 6 twice" "$(good "s/\[5,6\]/[6,6]/")" &&
	refused "entrances[0].pir must be a GPIO line number" "$(good "s/\"pir\":17}/\"pir\":1.5}/")" &&
	refused "guide.leds must hold GPIO line numbers" "$(good "s/\"leds\":\[5,6,13,19\]/\"leds\":[5,-6]/")"
'

test_expect_success 'adapters and kiosk ports: twice on one label' '
	refused "adapter hci0 is used twice on the nodes labelled nano.room=true: by rooms[0].adapter and by rooms[1].adapter" \
		"$(good "s/nano.room2/nano.room/; s/\"R2\",\"node\":\"nano.room\",\"pir\":17/\"R2\",\"node\":\"nano.room\",\"pir\":18/")" &&
	refused "kiosk port 8080 is used twice on the nodes labelled nano.room=true: by rooms[0].kiosk_port and by rooms[1].kiosk_port" \
		"$(good "s/nano.room2/nano.room/; s/\"R2\",\"node\":\"nano.room\",\"pir\":17/\"R2\",\"node\":\"nano.room\",\"pir\":18,\"adapter\":\"hci1\"/")" &&
	refused "rooms[0].kiosk_port must be a port (1-65535) or" "$(good "s/\"route\":\[5,6,13,19\]/&,\"kiosk_port\":\"\${P}\"/")" &&
	zeros=$(printf "%080d" 80) &&
	refused "rooms[0].kiosk_port must be a port (1-65535) or" "$(good "s/\"route\":\[5,6,13,19\]/&,\"kiosk_port\":\"\${P:-$zeros}\"/")" &&
	refused "rooms[0].adapter must be a BlueZ adapter name" "$(good "s/\"route\":\[5,6,13,19\]/&,\"adapter\":\"sim\"/")"
'

test_expect_success 'service names: one twice, one that is no DNS name' '
	refused "service name '\''ug'\'' of rooms[0] is also ug'\''s" \
		"$(good "s/\"route\":\[5,6,13,19\]/&,\"services\":{\"mrs\":\"ug\"}/")" &&
	refused "rooms[0].services.pd: '\''PD_1'\'' is not a service name" \
		"$(good "s/\"route\":\[5,6,13,19\]/&,\"services\":{\"pd\":\"PD_1\"}/")" &&
	refused "service name '\''pd-r-1'\'' of rooms[1] is also rooms[0]'\''s" \
		"$(good "s/\"R1\"/\"R.1\"/; s/\"R2\"/\"R_1\"/")"
'

test_expect_success 'unknown fields, missing ones, wrong types, bad labels and images' '
	refused "rooms[0]: unknown field '\''rute'\''" "$(good "s/\"route\":\[5,6,13,19\]/&,\"rute\":[1]/")" &&
	refused "the building: unknown field '\''room'\''" "$(good "s/\"rooms\"/\"room\"/")" &&
	refused "guide is missing" "$(good "s/\"guide\"/\"guidance\"/; s/\"guidance\":.*\"entrances\"/\"entrances\"/")" &&
	refused "entrances must be a non-empty array" "$(good "s/\"entrances\":\[[^]]*\]/\"entrances\":[]/")" &&
	refused "core.node must be a node label" "$(good "s/\"nano.core\"/\"nano core\"/")" &&
	refused "image must be an image reference" "$(good "s/^{/{\"image\":\"nano latest\",/")" &&
	refused "expected a JSON object" "[1]" &&
	refused "malformed JSON" "{\"core\":" &&
	refused "empty payload" ""
'

test_expect_success 'at most 16 rooms (one ug route each)' '
	rooms=$(i=0; while [ $i -lt 17 ]; do
		printf "%s{\"id\":\"R%d\",\"node\":\"n%d\",\"pir\":17,\"route\":[5]}" "$([ $i = 0 ] || echo ,)" $i $i
		i=$((i + 1)); done) &&
	refused "rooms: at most 16" "$(good "s/\"rooms\":.*/\"rooms\":[$rooms]}/")"
'

# The largest building it takes: 16 entrances and 16 rooms, each on a
# label of its own of 100 + 100 characters, 32 LEDs of six digits all on
# every route, the longest ids and service names the identities allow.
test_expect_success 'the largest building: every service, the longest lines' '
	/usr/bin/python3 -c "import json
leds = list(range(99969, 100001))
print(json.dumps({\"core\": {\"node\": \"c\" * 100 + \"=\" + \"v\" * 100},
 \"guide\": {\"node\": \"g\" * 100, \"leds\": leds, \"active_low\": True},
 \"entrances\": [{\"id\": \"e%02d\" % i + \"x\" * 52, \"node\": \"e%02d\" % i + \"k\" * 97,
   \"pir\": i, \"adapter\": \"a\" * 14 + \"%02d\" % i} for i in range(16)],
 \"rooms\": [{\"id\": \"r%02d\" % i + \"y\" * 55, \"node\": \"r%02d\" % i + \"k\" * 97,
   \"pir\": i, \"route\": leds, \"kiosk_port\": \"\${\" + \"K\" * 64 + \":-65535}\",
   \"services\": {\"pd\": \"p%02d\" % i + \"p\" * 55, \"bs\": \"b%02d\" % i + \"b\" * 55,
                \"mrs\": \"m%02d\" % i + \"m\" * 55}} for i in range(16)]}))" >big.json &&
	nano stack big.json >big.yml &&
	nano stack --keys big.json >big.keys &&
	test "$(wc -l <big.keys)" = 83 &&
	grep "\"r15y*=99969,99970,.*,100000\"" big.yml &&
	grep "NANO_LEDS: \"sysfs:99969,.*,100000:active-low\"" big.yml &&
	{ ! test_have_prereq YAML ||
		{ /usr/bin/python3 -c "import yaml; print(len(yaml.safe_load(open(\"big.yml\"))[\"services\"]))" >count &&
		test "$(cat count)" = 83; }; } &&
	refused "rooms[0]: identity '\''admin-p00p" "$(sed "s/\"p00p*\"/\"p00pppppppppppppppppppppppppppppppppppppppppppppppppppppppppp\"/" big.json)"
'

test_expect_success 'usage: no file is exit 2, a missing file exit 1' '
	test_expect_code 2 "$NANO" stack 2>err &&
	grep "usage: nano stack" err &&
	test_expect_code 2 "$NANO" stack --yaml x.json 2>err &&
	test_expect_code 1 "$NANO" stack nowhere.json 2>err &&
	grep "stack: nowhere.json: No such file" err &&
	nano stack - <"$PAPER" | cmp - "$ROOT/stack.yml"
'

# Every prefix of a good description and random bytes: a clean exit 1,
# never a signal (a crash is 128 + its number).
test_expect_success 'a cut or random description never crashes it' '
	size=$(wc -c <"$THREE") && i=0 &&
	while [ $i -lt "$size" ]; do
		head -c $i "$THREE" >cut.json &&
		test_expect_code 1 "$NANO" stack cut.json >/dev/null 2>&1 || return 1
		i=$((i + 7))
	done &&
	for k in 1 2 3 4 5 6 7 8 9 10; do
		head -c $((k * 97)) /dev/urandom >rand.json &&
		test_expect_code 1 "$NANO" stack rand.json >/dev/null 2>&1 || return 1
	done
'

test_done
