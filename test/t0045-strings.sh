#!/bin/sh
# Strings with NUL, control characters or invalid UTF-8 are refused with
# 4.00 by every role that takes ids, names, rooms or locations (ae, mcs,
# ug, mrs, bs; pd and bs on their command line), and nothing is stored:
# "ev\u0000il" is not the id "ev", "entrance\u0000x" not the entrance.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
MCS=coap://$NET.2
UG=coap://$NET.3
BS=coap://$NET.5
MRS=coap://$NET.10

# bad NAME: a body from the heredoc of that name (JSON escapes as written)
# or from printf (raw bytes: dash's printf knows octal, not \x).
cat >nul-id.json <<'EOF'
{"id":"ev\u0000il","name":"Eve","ble":"AA:BB:CC:DD:EE:66"}
EOF
cat >ctl-name.json <<'EOF'
{"id":"eve","name":"Ev\u0001e","ble":"AA:BB:CC:DD:EE:66"}
EOF
cat >del-name.json <<'EOF'
{"id":"eve","name":"Eve\u007f","ble":"AA:BB:CC:DD:EE:66"}
EOF
cat >c1-name.json <<'EOF'
{"id":"eve","name":"Eve\u0085","ble":"AA:BB:CC:DD:EE:66"}
EOF
printf '{"id":"eve","name":"Ev\377e","ble":"AA:BB:CC:DD:EE:66"}' >ff-name.json
printf '{"id":"eve","name":"Ev\300\257e","ble":"AA:BB:CC:DD:EE:66"}' >overlong-name.json
printf '{"id":"eve","name":"Ev\355\240\200e","ble":"AA:BB:CC:DD:EE:66"}' >surrogate-name.json
printf '{"id":"eve","name":"Ev\001e","ble":"AA:BB:CC:DD:EE:66"}' >raw-ctl-name.json
printf '{"id":"eve","name":"Eve\303","ble":"AA:BB:CC:DD:EE:66"}' >cut-name.json
cat >escaped-backslash.json <<'EOF'
{"id":"eve","name":"Eve \\u0000 Backslash","ble":"AA:BB:CC:DD:EE:66"}
EOF

# expect_400 METHOD URI [FILE]: nano coap gets 4.00 with an error body
expect_400() {
	if [ $# -ge 3 ]; then
		test_expect_code 1 "$NANO" coap -v "$1" "$2" - <"$3" >out 2>err
	else
		test_expect_code 1 "$NANO" coap -v "$1" "$2" >out 2>err </dev/null
	fi &&
	grep -q "^4.00" err && grep -q "\"error\":" out || { echo "$*:"; cat err out; return 1; }
}

dump() { sqlite3 ae.db .dump; }

test_expect_success 'setup: ae, mcs, ug, bs and mrs' '
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	start_bg mcs "$NANO" mcs --listen $NET.2:5683 --ae $AE --ug $UG --bs $BS \
		--bs-room "" --pd-room "" --mrs $MRS &&
	start_bg ug "$NANO" ug --listen $NET.3:5683 --leds sim --route R1=1,2,3 &&
	start_bg bs "$NANO" bs --listen $NET.5:5683 --adapter sim --location entrance &&
	start_bg mrs "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE &&
	for h in 1 2 3 5 10; do wait_for_health coap://$NET.$h || return 1; done &&
	nano coap post $AE/participants "{\"id\":\"bob\",\"name\":\"Bob\",\"ble\":\"AA:BB:CC:DD:EE:02\"}"
'

test_expect_success 'ae: an id with \u0000 is 4.00, and no participant "ev" appears' '
	dump >before &&
	expect_400 post $AE/participants nul-id.json &&
	grep "u0000" out &&
	dump >after && test_cmp before after &&
	test_expect_code 1 nano coap -v get $AE/participants/ev 2>err && grep "^4.04" err
'

test_expect_success 'ae: names with control characters or invalid UTF-8 are 4.00' '
	dump >before &&
	expect_400 post $AE/participants ctl-name.json &&
	grep "field .name. contains a control character" out &&
	expect_400 post $AE/participants del-name.json &&
	expect_400 post $AE/participants c1-name.json &&
	expect_400 post $AE/participants raw-ctl-name.json &&
	grep "control character" out &&
	for f in ff-name overlong-name surrogate-name cut-name; do
		expect_400 post $AE/participants $f.json &&
		grep -q "not valid UTF-8" out || { echo "$f"; cat out; return 1; }
	done &&
	expect_400 put $AE/participants/bob ctl-name.json &&
	expect_400 put $AE/participants/bob ff-name.json &&
	dump >after && test_cmp before after
'

test_expect_success 'ae: an escaped backslash before u0000 is text, stored as written' '
	nano coap -v post $AE/participants - <escaped-backslash.json >out 2>err &&
	grep "^2.01" err &&
	test "$(sqlite3 ae.db "SELECT name FROM participants WHERE id = '"'"'eve'"'"'")" = "Eve \\u0000 Backslash" &&
	nano coap delete $AE/participants/eve
'

test_expect_success 'ae: ids in the URI with an encoded NUL, control or bad UTF-8 are 4.00' '
	dump >before &&
	expect_400 put "$AE/participants/ev%00il" ctl-name.json &&
	grep "path or query contains a NUL or control character" out &&
	printf "{\"name\":\"Eve\",\"ble\":\"AA:BB:CC:DD:EE:66\"}" >ok-body.json &&
	expect_400 put "$AE/participants/ev%00il" ok-body.json &&
	expect_400 put "$AE/participants/ev%01il" ok-body.json &&
	expect_400 get "$AE/participants/bob%00x" &&
	expect_400 delete "$AE/participants/bob%00" &&
	expect_400 get "$AE/participants/%FF" &&
	grep "not valid UTF-8" out &&
	expect_400 get "$AE/meetings/m%00" &&
	dump >after && test_cmp before after &&
	nano coap get $AE/participants/bob | grep "\"name\":\"Bob\""
'

test_expect_success 'ae: meetings and auth refuse NUL and control characters in every string' '
	S=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ) &&
	E=$(date -u -d "+55 min" +%Y-%m-%dT%H:%M:%SZ) &&
	M="\"start\":\"$S\",\"end\":\"$E\"" &&
	dump >before &&
	for body in \
		"{\"id\":\"m\\u0000x\",\"title\":\"T\",\"room\":\"R1\",$M}" \
		"{\"id\":\"m1\",\"title\":\"T\\u0001\",\"room\":\"R1\",$M}" \
		"{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R1\\u0000\",$M}" \
		"{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R\\u001b1\",$M}" \
		"{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R1\",\"building\":\"B\\u0002\",$M}" \
		"{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R1\",\"organizer\":\"bob\\u0000x\",$M}" \
		"{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R1\",\"participants\":[\"bob\\u0000\"],$M}" \
		"{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R1\",\"participants\":[\"bob\\u0003\"],$M}"
	do
		printf "%s" "$body" >m.json &&
		expect_400 post $AE/meetings m.json || { echo "$body"; return 1; }
	done &&
	printf "{\"id\":\"m1\",\"title\":\"T\\377\",\"room\":\"R1\",$M}" >m.json &&
	expect_400 post $AE/meetings m.json &&
	printf "{\"ble\":[\"AA:BB:CC:DD:EE:02\"],\"location\":\"entrance\\\\u0000x\"}" >auth.json &&
	grep -F "entrance\\u0000x" auth.json &&
	expect_400 post $AE/auth auth.json &&
	printf "{\"ble\":[\"AA:BB:CC:DD:EE:02\"],\"location\":\"entr\\\\u0001ance\"}" >auth.json &&
	expect_400 post $AE/auth auth.json &&
	dump >after && test_cmp before after
'

test_expect_success 'mcs: a location with \u0000, a control character or bad UTF-8 is 4.00; no motion' '
	printf "{\"location\":\"entrance\\\\u0000x\",\"node\":\"n1\"}" >p.json &&
	expect_400 post $MCS/presence p.json &&
	printf "{\"location\":\"entr\\\\u0001ance\"}" >p.json &&
	expect_400 post $MCS/presence p.json &&
	grep "field .location. contains a control character" out &&
	printf "{\"location\":\"entrance\",\"node\":\"n\\\\u0007\"}" >p.json &&
	expect_400 post $MCS/presence p.json &&
	printf "{\"location\":\"entr\\303\\050nce\"}" >p.json &&
	expect_400 post $MCS/presence p.json &&
	printf "{\"location\":\"R1\\\\u0000\",\"devices\":[{\"addr\":\"AA:BB:CC:DD:EE:02\"}]}" >b.json &&
	expect_400 post $MCS/ble b.json &&
	printf "{\"location\":\"entrance\\377\",\"devices\":[]}" >b.json &&
	expect_400 post $MCS/ble b.json &&
	nano coap get $MCS/timeline >tl &&
	test "$(python3 -c "import json,sys; print(len(json.load(open(\"tl\"))[\"timeline\"]))")" = 0 &&
	nano coap get $MCS/participants >pp &&
	test "$(python3 -c "import json,sys; print(len(json.load(open(\"pp\"))[\"participants\"]))")" = 0
'

test_expect_success 'ug: a participant or room with \u0000, a control character or bad UTF-8 is 4.00' '
	nano coap get $UG/guide >before &&
	printf "{\"participant\":\"ev\\\\u0000il\",\"room\":\"R1\"}" >g.json &&
	expect_400 post $UG/guide g.json &&
	printf "{\"participant\":\"ev\\\\u0001il\",\"room\":\"R1\"}" >g.json &&
	expect_400 post $UG/guide g.json &&
	grep "field .participant. contains a control character" out &&
	printf "{\"participant\":\"ev\\377il\",\"room\":\"R1\"}" >g.json &&
	expect_400 post $UG/guide g.json &&
	grep "not valid UTF-8" out &&
	printf "{\"participant\":\"eve\",\"room\":\"R1\\\\u0000\"}" >g.json &&
	expect_400 post $UG/guide g.json &&
	expect_400 delete "$UG/guide/ev%00il" &&
	expect_400 get "$UG/guide/ev%FFil" &&
	nano coap get $UG/guide >after &&
	test_cmp before after &&
	test "$(cat after)" = "{\"active\":[]}"
'

test_expect_success 'mrs: a participant or meeting with \u0000, a control character or bad UTF-8 is 4.00' '
	printf "{\"participant\":\"ev\\\\u0000il\",\"meeting\":\"m1\"}" >pr.json &&
	expect_400 post $MRS/present pr.json &&
	printf "{\"participant\":\"bob\",\"meeting\":\"m1\\\\u0001\"}" >pr.json &&
	expect_400 post $MRS/present pr.json &&
	printf "{\"participant\":\"b\\300\\257b\",\"meeting\":\"m1\"}" >pr.json &&
	expect_400 post $MRS/present pr.json &&
	nano coap get $MRS/stats >st &&
	grep "\"presents\":0," st &&
	grep "\"fetches\":0," st &&
	nano coap get $MRS/display >d &&
	grep "\"meeting\":null" d
'

test_expect_success 'bs: a simulated name with \u0000, a control character or bad UTF-8 is 4.00' '
	printf "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"name\":\"ring\\\\u0000x\"}" >a.json &&
	expect_400 post $BS/sim/adv a.json &&
	printf "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"name\":\"ring\\\\u001b[2J\"}" >a.json &&
	expect_400 post $BS/sim/adv a.json &&
	grep "field .name. contains a control character" out &&
	printf "{\"addr\":\"AA:BB:CC:DD:EE:02\",\"name\":\"ring\\377\"}" >a.json &&
	expect_400 post $BS/sim/adv a.json &&
	nano coap get $BS/devices >dev &&
	test "$(cat dev)" = "{\"location\":\"entrance\",\"devices\":[]}"
'

test_expect_success 'pd and bs: a --location or --node with a control character or bad UTF-8 is exit 2' '
	L="--listen $NET.20:5683" &&
	test_expect_code 2 nano pd $L --location "$(printf "entr\001ance")" --sensor sim 2>err &&
	grep "contains a control character" err &&
	test_expect_code 2 nano pd $L --location "$(printf "entr\377ance")" --sensor sim 2>err &&
	grep "not valid UTF-8" err &&
	test_expect_code 2 nano pd $L --location entrance --node "$(printf "n\033")" --sensor sim 2>err &&
	test_expect_code 2 nano bs $L --adapter sim --location "$(printf "R\001x")" 2>err &&
	grep "contains a control character" err &&
	test_expect_code 2 nano ug $L --leds sim --route "$(printf "R\377=1,2")" 2>err &&
	grep "not valid UTF-8" err &&
	test_expect_code 2 nano mrs $L --room "$(printf "R\002x")" 2>err
'

test_expect_success 'every role is still up and stops cleanly' '
	for h in 1 2 3 5 10; do wait_for_health coap://$NET.$h || return 1; done &&
	for r in ae mcs ug bs mrs; do
		stop_bg $r || return 1
	done &&
	! grep -E "AddressSanitizer|runtime error" *.log
'

test_done
