#!/bin/sh
# nano ug with simulated LEDs, over CoAP: guidances start, are idempotent,
# re-route, stop and expire; /guide is observable; the chase runs toward
# the room, routes take turns and never two LEDs are lit; bad input.
. "$(dirname "$0")/lib.sh"

UG=coap://$NET.1

guide() { nano coap -v post $UG/guide "{\"participant\":\"$1\",\"room\":\"$2\"}" 2>code; }
# The most LEDs lit at once, replaying the "led line=N on|off" log.
max_lit() {
	awk '/ led line=[0-9]+ on$/ { n++; if (n > max) max = n }
	     / led line=[0-9]+ off$/ { n-- }
	     END { print max + 0 }' "$1"
}

test_expect_success 'usage errors are exit 2 and say what is wrong' '
	test_expect_code 2 nano ug --route R1=1,2 2>err &&
	grep -- "--leds is required" err &&
	test_expect_code 2 nano ug --leds sim 2>err &&
	grep "at least one --route" err &&
	test_expect_code 2 nano ug --leds sysfs:1,2 --route R1=1,3 2>err &&
	grep "uses line 3, which is not in --leds" err &&
	test_expect_code 2 nano ug --leds sim --route R1=1 --route R1=2 2>err &&
	grep "room .R1. has two --route" err &&
	test_expect_code 2 nano ug --leds sim --route R1 2>err &&
	grep "expected ROOM=L1,L2" err &&
	test_expect_code 2 nano ug --leds sim --route =1,2 2>err &&
	test_expect_code 2 nano ug --leds sim --route R1= 2>err &&
	test_expect_code 2 nano ug --leds sim --route R1=1,x 2>err &&
	grep "bad line number" err &&
	test_expect_code 2 nano ug --leds sim --route R1=1,1 2>err &&
	grep "listed twice" err &&
	test_expect_code 2 nano ug --leds sim --route R1=1 --step 1ms 2>err &&
	grep -- "--step must be at least 10ms" err &&
	test_expect_code 2 nano ug --leds sim --route R1=1 --expire soon 2>err &&
	grep "bad duration" err &&
	! grep started err
'

test_expect_success 'ug starts with simulated LEDs and two routes sharing a corridor' '
	start_bg ug "$NANO" ug --listen $NET.1:5683 --leds sim:1,2,3,4 \
		--route R1=1,2,3 --route R2=1,4 --step 60ms &&
	wait_for_health $UG &&
	grep "leds=sim:1,2,3,4 lines=4 routes=2 step_ms=60 expire_ms=300000" ug.log
'

test_expect_success '/.well-known/core lists /guide (observable) and /leds' '
	nano coap get $UG/.well-known/core >out &&
	grep "</guide>;rt=\"nano.ug\";obs" out &&
	grep "</leds>;rt=\"nano.ug\"" out
'

test_expect_success 'nothing guided: no guidance, all LEDs off' '
	nano coap get $UG/guide >out &&
	test "$(cat out)" = "{\"active\":[]}" &&
	nano coap get $UG/leds >out &&
	test "$(cat out)" = "{\"leds\":[{\"line\":1,\"on\":false},{\"line\":2,\"on\":false},{\"line\":3,\"on\":false},{\"line\":4,\"on\":false}]}"
'

test_expect_success 'POST /guide: 2.01 and a chase toward R1, logged LED by LED' '
	start_bg obs "$NANO" coap -t 10 -n 4 observe $UG/guide &&
	sleep 0.3 &&
	guide alice R1 >out &&
	grep "^2.01" code &&
	grep "^{\"participant\":\"alice\",\"room\":\"R1\",\"since\":\"20[0-9-]*T[0-9:.]*Z\",\"expires\":\"20[0-9-]*T[0-9:.]*Z\"}$" out &&
	wait_until "grep -q \"led line=3 on\" ug.log" &&
	grep " led line=[0-9]* on$" ug.log | head -n 3 >chase &&
	test "$(sed "s/.*line=\([0-9]*\).*/\1/" chase | tr "\n" " ")" = "1 2 3 " &&
	! grep "led line=4 on" ug.log
'

test_expect_success 'GET /leds shows the dot; GET /guide the guidance' '
	nano coap get $UG/leds >out &&
	test "$(grep -o "\"on\":true" out | wc -l)" -le 1 &&
	nano coap get $UG/guide >out &&
	grep "^{\"active\":\[{\"participant\":\"alice\",\"room\":\"R1\",\"since\":\"[^\"]*\",\"expires\":\"[^\"]*\"}\]}$" out
'

test_expect_success 're-guiding the same participant is idempotent: 2.04, same since' '
	nano coap get $UG/guide >before &&
	guide alice R1 >out &&
	grep "^2.04" code &&
	nano coap get $UG/guide >after &&
	test_cmp before after &&
	test "$(grep -c "guide start participant=alice" ug.log)" = 1
'

test_expect_success 'a second room: the routes take turns, R2 branches to LED 4' '
	guide bob R2 >out &&
	grep "^2.01" code &&
	wait_until "grep -q \"led line=4 on\" ug.log" &&
	nano coap get $UG/guide >out &&
	grep "\"participant\":\"alice\",\"room\":\"R1\".*\"participant\":\"bob\",\"room\":\"R2\"" out
'

test_expect_success 'never more than one LED is lit at a time' '
	sleep 1 &&
	test "$(grep -c "led line=4 on" ug.log)" -ge 2 &&
	test "$(max_lit ug.log)" = 1
'

test_expect_success 'DELETE /guide/<participant> stops it: 2.02; again: 4.04' '
	nano coap -v delete $UG/guide/alice 2>code &&
	grep "^2.02" code &&
	grep "guide stop participant=alice room=R1 after_ms=[0-9]*" ug.log &&
	nano coap get $UG/guide >out &&
	grep "^{\"active\":\[{\"participant\":\"bob\",\"room\":\"R2\"" out &&
	! grep alice out &&
	test_expect_code 1 nano coap -v delete $UG/guide/alice >out 2>code &&
	grep "^4.04" code &&
	grep "no guidance for participant .alice." out
'

test_expect_success 'with only R2 guided, R1 LEDs 2 and 3 stay dark' '
	sleep 0.3 &&
	mark=$(wc -l <ug.log) &&
	sleep 1 &&
	tail -n +$((mark + 1)) ug.log >later &&
	grep "led line=4 on" later &&
	! grep "led line=[23] on" later
'

test_expect_success 'observers heard every change of /guide' '
	wait $obs_pid &&
	test "$(wc -l <obs.log)" = 4 &&
	sed -n 1p obs.log | grep "^{\"active\":\[\]}$" &&
	sed -n 2p obs.log | grep "alice" &&
	sed -n 3p obs.log | grep "alice.*bob" &&
	sed -n 4p obs.log | grep -v alice | grep bob
'

test_expect_success 'a participant sent to another room is re-routed: 2.04' '
	guide bob R1 >out &&
	grep "^2.04" code &&
	grep "\"participant\":\"bob\",\"room\":\"R1\"" out &&
	grep "guide reroute participant=bob from=R2 room=R1" ug.log &&
	nano coap get $UG/guide/bob >out &&
	grep "^{\"participant\":\"bob\",\"room\":\"R1\"" out &&
	test_expect_code 1 nano coap -v get $UG/guide/nobody 2>code &&
	grep "^4.04" code
'

test_expect_success 'bad input: a clear 4.xx and nothing changes' '
	nano coap get $UG/guide >before &&
	test_expect_code 1 nano coap -v post $UG/guide "{\"participant\":" >out 2>code &&
	grep "^4.00" code && grep "malformed JSON" out &&
	test_expect_code 1 nano coap post $UG/guide "{\"room\":\"R1\"}" >out &&
	grep "missing field .participant." out &&
	test_expect_code 1 nano coap post $UG/guide "{\"participant\":\"carl\"}" >out &&
	grep "missing field .room." out &&
	test_expect_code 1 nano coap post $UG/guide "{\"participant\":7,\"room\":\"R1\"}" >out &&
	grep "field .participant. must be a string" out &&
	test_expect_code 1 nano coap post $UG/guide "{\"participant\":\"carl\",\"room\":[1]}" >out &&
	grep "field .room. must be a string" out &&
	test_expect_code 1 nano coap post $UG/guide "{\"participant\":\"a/b\",\"room\":\"R1\"}" >out &&
	grep "field .participant. may only hold letters, digits" out &&
	test_expect_code 1 nano coap post $UG/guide "{\"participant\":\"\",\"room\":\"R1\"}" >out &&
	grep "field .participant. is empty" out &&
	test_expect_code 1 nano coap post $UG/guide "[\"carl\",\"R1\"]" >out &&
	grep "expected a JSON object" out &&
	long=$(printf "%065d" 0) &&
	test_expect_code 1 nano coap post $UG/guide "{\"participant\":\"$long\",\"room\":\"R1\"}" >out &&
	grep "longer than 64 bytes" out &&
	printf "{\"participant\":\"carl\",\"room\":\"%0100000d\"}" 0 >huge &&
	test_expect_code 1 nano coap -v post $UG/guide - <huge >out 2>code &&
	grep "^4.13" code &&
	test_expect_code 1 nano coap -v post $UG/guide "{\"participant\":\"carl\",\"room\":\"R9\"}" >out 2>code &&
	grep "^4.04" code && grep "unknown room .R9." out &&
	nano coap get $UG/guide >after &&
	test_cmp before after
'

test_expect_success 'wrong methods are 4.05' '
	test_expect_code 1 nano coap -v put $UG/guide "{}" 2>code && grep "^4.05" code &&
	test_expect_code 1 nano coap -v delete $UG/guide 2>code && grep "^4.05" code &&
	test_expect_code 1 nano coap -v post $UG/leds "{}" 2>code && grep "^4.05" code &&
	test_expect_code 1 nano coap -v post $UG/guide/bob "{}" 2>code && grep "^4.05" code
'

test_expect_success 'at most 64 guidances at once; the 65th is 5.03' '
	(
		i=1
		while [ $i -lt 64 ]; do
			guide "p$i" R2 >/dev/null || exit 1
			i=$((i + 1))
		done
	) &&
	nano coap get $UG/stats | grep "\"active\":64" &&
	test_expect_code 1 nano coap -v post $UG/guide "{\"participant\":\"late\",\"room\":\"R2\"}" >out 2>code &&
	grep "^5.03" code && grep "too many active guidances (64, --max-guides)" out &&
	test "$(max_lit ug.log)" = 1
'

test_expect_success 'SIGTERM: every LED goes off, logged, exit 0' '
	stop_bg ug &&
	test "$ug_status" = 0 &&
	grep "leds off" ug.log &&
	awk "/ led line=[0-9]+ (on|off)\$/ { s[\$5] = \$6 } END { for (l in s) print l, s[l] }" ug.log >final &&
	! grep " on$" final
'

test_expect_success 'a guidance not stopped expires after --expire' '
	start_bg ug2 env NANO_ROUTE="R1=1,2;R2=3" NANO_LISTEN=$NET.2:5683 \
		"$NANO" ug --leds sim --expire 800ms --step 50ms &&
	wait_for_health coap://$NET.2 &&
	grep "leds=sim lines=3 routes=2" ug2.log &&
	nano coap post coap://$NET.2/guide "{\"participant\":\"dave\",\"room\":\"R2\"}" &&
	nano coap get coap://$NET.2/guide | grep dave &&
	wait_until "grep -q \"guide expired participant=dave room=R2\" ug2.log" &&
	nano coap get coap://$NET.2/guide >out &&
	test "$(cat out)" = "{\"active\":[]}" &&
	sleep 0.2 &&
	! nano coap get coap://$NET.2/leds | grep "\"on\":true" &&
	nano coap get coap://$NET.2/stats | grep "\"expired\":1"
'

test_done
