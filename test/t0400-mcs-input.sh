#!/bin/sh
# mcs on its own (every peer down): bad input gets a clear 4.xx and changes
# nothing, a presence is accepted and waits for the bs, /health reports the
# peers, and nothing crashes it.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

test_expect_success 'mcs starts with every peer missing' '
	start_mcs --watch 300ms &&
	wait_for_health $MCS
'

test_expect_success 'usage errors are exit 2, before any port is bound' '
	test_expect_code 2 nano mcs --listen $NET.2:5683 --expire nonsense 2>err &&
	grep "bad duration" err &&
	test_expect_code 2 nano mcs --listen $NET.2:5683 --mrs "R 1=coap://x" 2>err &&
	grep "NAME=" err &&
	test_expect_code 2 nano mcs --listen $NET.2:5683 --ae http://x 2>err &&
	grep -- "--ae" err &&
	test_expect_code 2 nano mcs --listen $NET.2:5683 --ug "" 2>err &&
	grep "required" err &&
	test_expect_code 2 nano mcs --listen $NET.2:5683 --max-tracks 0 2>err &&
	test_expect_code 1 nano mcs --listen $NET.2:5683 2>err &&
	grep "address already in use" err
'

test_expect_success '/health is ok and shows every peer, down' '
	wait_until "peer_state \"bs entrance\" down" 100 &&
	nano coap get $MCS/health >h &&
	test "$(pyjson h "d[\"status\"]")" = ok &&
	test "$(pyjson h "sorted(d[\"peers\"])")" = "[\"ae\", \"bs entrance\", \"mrs *\", \"pd-room\", \"ug\"]" &&
	test "$(pyjson h "d[\"peers\"][\"ae\"][\"state\"]")" = down
'

test_expect_success 'malformed presence: 4.00 with the reason' '
	test_expect_code 1 nano coap post $MCS/presence "{\"location\":" >out &&
	grep "malformed JSON" out &&
	test_expect_code 1 nano coap post $MCS/presence "{\"location\":7}" >out &&
	grep "location" out &&
	test_expect_code 1 nano coap post $MCS/presence "{}" >out &&
	grep "location" out &&
	test_expect_code 1 nano coap post $MCS/presence "{\"location\":\"entrance\",\"ts_ms\":\"x\"}" >out &&
	grep "ts_ms" out &&
	test_expect_code 1 nano coap post $MCS/presence "{\"location\":\"a/b\"}" >out &&
	grep "letters" out &&
	test_expect_code 1 nano coap post $MCS/presence "[1,2]" >out
'

test_expect_success 'a presence at a location with no bs is 4.04' '
	start_bg mcs2 "$NANO" mcs --listen $NET.8:5683 --bs-room "" --ae $AE --ug $UG &&
	wait_for_health coap://$NET.8 &&
	test_expect_code 1 nano coap -v post coap://$NET.8/presence "{\"location\":\"cellar\"}" >out 2>err &&
	grep "^4.04" err && grep "no bs for location" out &&
	stop_bg mcs2
'

test_expect_success 'a presence is accepted while the bs is down, and its scan waits' '
	nano coap post $MCS/presence "{\"location\":\"entrance\",\"node\":\"pir1\",\"ts_ms\":1}" >out &&
	grep "\"scan\":\"started\"" out &&
	nano coap post $MCS/presence "{\"location\":\"entrance\"}" >out &&
	grep "\"scan\":\"queued\"" out &&
	wait_until "peer_parked \"bs entrance\" 1" 60
'

test_expect_success 'malformed room sightings: 4.00' '
	test_expect_code 1 nano coap post $MCS/ble "{\"location\":\"room\"}" >out &&
	grep "devices" out &&
	test_expect_code 1 nano coap post $MCS/ble "{\"location\":\"room\",\"devices\":{}}" >out &&
	test_expect_code 1 nano coap post $MCS/ble "{\"devices\":[]}" >out
'

test_expect_success 'unusable devices are skipped, not fatal; an address mcs cannot place is asked about' '
	nano coap post $MCS/ble "{\"location\":\"room\",\"devices\":[1,\"x\",{\"addr\":\"nope\"},{\"addr\":\"AA:BB:CC:DD:EE:99\",\"rssi\":\"loud\"},{\"addr\":\"AA:BB:CC:DD:EE:01\",\"last_seen_ms\":5}]}" >out &&
	test "$(pyjson out "d[\"ignored\"]")" = 4 &&
	test "$(pyjson out "d[\"asked\"]")" = 1 &&
	test "$(pyjson out "d[\"arrived\"]")" = "[]"
'

test_expect_success 'entrance sightings pushed without motion start nothing' '
	start_bg mcs3 "$NANO" mcs --listen $NET.8:5683 --ae $AE --ug $UG --bs $BS &&
	wait_for_health coap://$NET.8 &&
	nano coap post coap://$NET.8/ble "{\"location\":\"entrance\",\"devices\":[{\"addr\":\"AA:BB:CC:DD:EE:01\"}]}" >out &&
	test "$(pyjson out "d[\"ignored\"]")" = 1 &&
	nano coap get coap://$NET.8/participants >p &&
	test "$(pyjson p "len(d[\"participants\"])")" = 0 &&
	stop_bg mcs3
'

test_expect_success 'query errors on /participants and /timeline are 4.00 that say the range (as ae'"'"'s), an unknown state too' '
	test_expect_code 1 nano coap get "$MCS/timeline?limit=x" &&
	test_expect_code 1 nano coap -v get "$MCS/timeline?limit=1001" >out 2>&1 &&
	grep "4.00" out && grep "query .limit. must be an integer in \[0, 1000\]" out &&
	test_expect_code 1 nano coap get "$MCS/timeline?since=-1" &&
	test_expect_code 1 nano coap get "$MCS/timeline?limit=+5" &&
	test_expect_code 1 nano coap -v get "$MCS/participants?limit=y" >out 2>&1 &&
	grep "query .limit. must be an integer in \[0, 1000000\]" out &&
	test_expect_code 1 nano coap -v get "$MCS/participants?state=bogus" >out 2>&1 &&
	grep 4.00 out && grep "state must be a state" out &&
	nano coap get "$MCS/participants?state=refused" >out &&
	test "$(pyjson out "len(d[\"participants\"])")" = 0
'

test_expect_success 'the timeline has the two motions and the scan that waits' '
	nano coap get "$MCS/timeline" >tl &&
	test "$(pyjson tl "[x[\"event\"] for x in d[\"timeline\"] if x[\"event\"] in (\"motion\", \"scan\")]")" = "[\"motion\", \"scan\", \"motion\"]"
'

test_expect_success 'a payload over the limit is 4.13; wrong methods 4.05' '
	printf "{\"location\":\"room\",\"devices\":[\"%0300000d\"]}" 0 >huge &&
	test_expect_code 1 nano coap -v post $MCS/ble - <huge >out 2>err &&
	grep "^4.13" err &&
	test_expect_code 1 nano coap -v delete $MCS/participants 2>err &&
	grep "^4.05" err &&
	test_expect_code 1 nano coap -v put $MCS/presence "{}" 2>err &&
	grep "^4.05" err
'

test_expect_success 'random datagrams do not crash mcs' '
	perl "$TEST_DIR/fuzz-datagrams.pl" $NET.2 5683 300 &&
	wait_for_health $MCS
'

test_expect_success 'SIGTERM stops mcs cleanly with calls still waiting' '
	stop_bg mcs &&
	test "$mcs_status" = 0 &&
	grep "stopped" mcs.log
'

test_done
