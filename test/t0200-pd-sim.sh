#!/bin/sh
# nano pd with the simulated sensor, over CoAP: /presence (observable),
# debounce and hold, POST <mcs>/presence, bad input.  The MCS stand-in is
# libcoap's own example server (coap-server-notls -d: a POST to an unknown
# path creates it and answers 2.01/2.04; -v 7 logs every request body).
. "$(dirname "$0")/lib.sh"

PD=coap://$NET.1
MCS=$NET.2

presence() { nano coap get $PD/presence; }
mcs_posts() { grep -c "c:POST .*Uri-Path:presence" mcs.log; }

test_expect_success 'usage errors are exit 2 and say what is wrong' '
	test_expect_code 2 nano pd --sensor sim 2>err &&
	grep -- "--location is required" err &&
	test_expect_code 2 nano pd --location entrance 2>err &&
	grep -- "--sensor is required" err &&
	test_expect_code 2 nano pd --location entrance --sensor usb:1 2>err &&
	grep "expected gpio:CHIP:LINES, sysfs:LINES or sim" err &&
	test_expect_code 2 nano pd --location entrance --sensor sysfs:4,5 2>err &&
	grep "too many lines" err &&
	test_expect_code 2 nano pd --location entrance --sensor sim --hold 3x 2>err &&
	grep "bad duration" err &&
	test_expect_code 2 nano pd --location "two words" --sensor sim 2>err &&
	grep -- "--location .two words. may only hold letters" err &&
	test_expect_code 2 nano pd --location entrance --node "a\"b" --sensor sim 2>err &&
	grep -- "--node" err &&
	test_expect_code 2 nano pd --location entrance --sensor sim --mcs http://x 2>err &&
	grep "coaps:// (or coap://) URI" err &&
	! grep started err
'

test_expect_success 'pd starts with the sim sensor and an MCS stand-in' '
	start_bg mcs coap-server-notls -A $MCS -p 5683 -d 20 -v 7 &&
	start_bg pd "$NANO" pd --listen $NET.1:5683 --location entrance --node pd-e1 \
		--sensor sim --mcs coap://$MCS --hold 1s --debounce 50ms &&
	wait_for_health $PD &&
	grep "location=entrance node=pd-e1 sensor=sim" pd.log
'

test_expect_success '/.well-known/core lists /presence (observable) and /sim/motion' '
	nano coap get $PD/.well-known/core >out &&
	grep "</presence>;rt=\"nano.pd\";obs" out &&
	grep "</sim/motion>;rt=\"nano.pd\"" out
'

test_expect_success 'GET /presence before any motion' '
	presence >out &&
	test "$(cat out)" = "{\"location\":\"entrance\",\"motion\":false,\"events\":0,\"last\":null}"
'

test_expect_success 'motion start: /presence says so and MCS gets POST /presence' '
	start_bg obs "$NANO" coap -t 8 -n 3 observe $PD/presence &&
	sleep 0.3 &&
	before=$(date +%s%3N) &&
	nano coap -v post $PD/sim/motion "{\"motion\":true}" 2>err &&
	after=$(date +%s%3N) &&
	grep "^2.04" err &&
	wait_until "presence | grep -q \"\\\"motion\\\":true\"" &&
	presence >out &&
	grep "\"events\":1" out &&
	grep "\"last\":\"20[0-9-]*T[0-9:.]*Z\"" out &&
	wait_until "test \$(mcs_posts) -ge 1" &&
	body=$(grep "c:POST .*Uri-Path:presence" mcs.log | head -n 1 | sed "s/.*:: .\(.*\).$/\1/") &&
	echo "$body" | grep "^{\"location\":\"entrance\",\"node\":\"pd-e1\",\"ts_ms\":[0-9]*}$" &&
	ts=$(echo "$body" | sed "s/.*\"ts_ms\":\([0-9]*\).*/\1/") &&
	test "$ts" -ge "$before" && test "$ts" -le "$after"
'

test_expect_success 'the edge time, not the end of the debounce, is the motion start' '
	last=$(presence | sed "s/.*\"last\":\"\([^\"]*\)\".*/\1/") &&
	ts=$(grep "c:POST .*Uri-Path:presence" mcs.log | head -n 1 | sed "s/.*\"ts_ms\":\([0-9]*\).*/\1/") &&
	test "$(date -u -d "@$((ts / 1000)).$(printf %03d $((ts % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ | sed "s/\.000Z/Z/")" = "$last"
'

test_expect_success 'the sensor falls: motion ends after the hold, observers hear both' '
	nano coap post $PD/sim/motion "{\"motion\":false}" &&
	sleep 0.3 &&
	presence | grep "\"motion\":true" &&
	wait_until "presence | grep -q \"\\\"motion\\\":false\"" &&
	wait $obs_pid &&
	test "$(wc -l <obs.log)" = 3 &&
	sed -n 1p obs.log | grep "\"motion\":false,\"events\":0" &&
	sed -n 2p obs.log | grep "\"motion\":true,\"events\":1" &&
	sed -n 3p obs.log | grep "\"motion\":false,\"events\":1"
'

test_expect_success 'a re-trigger inside the hold is the same arrival' '
	nano coap post $PD/sim/motion "{\"motion\":true}" &&
	wait_until "presence | grep -q \"\\\"events\\\":2\"" &&
	nano coap post $PD/sim/motion "{\"motion\":false}" &&
	sleep 0.2 &&
	nano coap post $PD/sim/motion "{\"motion\":true}" &&
	sleep 0.3 &&
	nano coap post $PD/sim/motion "{\"motion\":false}" &&
	sleep 0.3 &&
	presence | grep "\"motion\":true,\"events\":2" &&
	wait_until "presence | grep -q \"\\\"motion\\\":false\"" &&
	presence | grep "\"events\":2" &&
	wait_until "test \$(mcs_posts) -ge 2" &&
	sleep 0.3 &&
	test "$(grep -c "presence delivered" pd.log)" = 2
'

test_expect_success 'bad input: 4.00 with a reason, state unchanged' '
	presence >before &&
	test_expect_code 1 nano coap -v post $PD/sim/motion "{\"motion\":" >out 2>err &&
	grep "^4.00" err && grep "malformed JSON" out &&
	test_expect_code 1 nano coap post $PD/sim/motion "{\"motion\":\"yes\"}" >out &&
	grep "field .motion. must be true or false" out &&
	test_expect_code 1 nano coap post $PD/sim/motion "{\"motion\":1}" >out &&
	grep "must be true or false" out &&
	test_expect_code 1 nano coap post $PD/sim/motion "{}" >out &&
	grep "missing field .motion." out &&
	test_expect_code 1 nano coap post $PD/sim/motion "[true]" >out &&
	grep "expected a JSON object" out &&
	test_expect_code 1 nano coap post $PD/sim/motion "{\"motion\":true} x" >out &&
	grep "trailing data" out &&
	printf "{\"motion\":true,\"pad\":\"%0100000d\"}" 0 >huge &&
	test_expect_code 1 nano coap -v post $PD/sim/motion - <huge >out 2>err &&
	grep "^4.13" err &&
	printf "{\"motion\":\"%05000d\"}" 0 >long &&
	test_expect_code 1 nano coap -v post $PD/sim/motion - <long >out 2>err &&
	grep "^4.00" err &&
	sleep 0.2 &&
	presence >after &&
	test_cmp before after
'

test_expect_success 'wrong methods are 4.05, unknown resources 4.04' '
	test_expect_code 1 nano coap -v put $PD/presence "{}" 2>err && grep "^4.05" err &&
	test_expect_code 1 nano coap -v post $PD/presence "{}" 2>err && grep "^4.05" err &&
	test_expect_code 1 nano coap -v get $PD/sim/motion 2>err && grep "^4.05" err &&
	test_expect_code 1 nano coap -v get $PD/nothing 2>err && grep "^4.04" err
'

test_expect_success '/stats counts edges and deliveries' '
	nano coap get $PD/stats >out &&
	grep "\"sensor\":\"sim\"" out &&
	grep "\"delivered\":2" out &&
	grep "\"queued\":0" out &&
	grep "\"dropped\":0" out
'

test_expect_success 'a spike shorter than the debounce is no motion' '
	start_bg pd2 "$NANO" pd --listen $NET.3:5683 --location room --sensor sim \
		--mcs coap://$MCS --debounce 1s &&
	wait_for_health coap://$NET.3 &&
	nano coap post coap://$NET.3/sim/motion "{\"motion\":true}" &&
	nano coap post coap://$NET.3/sim/motion "{\"motion\":false}" &&
	sleep 1.3 &&
	nano coap get coap://$NET.3/presence | grep "\"motion\":false,\"events\":0" &&
	nano coap post coap://$NET.3/sim/motion "{\"motion\":true}" &&
	sleep 0.5 &&
	nano coap get coap://$NET.3/presence | grep "\"events\":0" &&
	wait_until "nano coap get coap://$NET.3/presence | grep -q \"\\\"events\\\":1\"" &&
	stop_bg pd2
'

test_expect_success 'NANO_* environment configures pd; a flag wins' '
	start_bg pd3 env NANO_LOCATION=hall NANO_SENSOR=sim NANO_NODE=envnode \
		NANO_LISTEN=$NET.4:5683 "$NANO" pd --node flagnode &&
	wait_for_health coap://$NET.4 &&
	grep "location=hall node=flagnode sensor=sim" pd3.log &&
	stop_bg pd3
'

test_expect_success 'SIGTERM stops pd cleanly' '
	stop_bg pd &&
	test "$pd_status" = 0 &&
	grep "signal=15 stopping" pd.log &&
	grep "stopped" pd.log
'

test_done
