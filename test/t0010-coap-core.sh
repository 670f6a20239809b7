#!/bin/sh
# nano coap against a server built from nano's core: the common resources,
# errors as JSON, block-wise bodies, observe, timeouts and exit codes.
. "$(dirname "$0")/lib.sh"

SRV=coap://$NET.1

test_expect_success 'a server starts and answers /health' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 &&
	wait_for_health $SRV &&
	nano coap get $SRV/health >out &&
	grep "\"status\":\"ok\"" out &&
	grep "\"role\":\"test\"" out
'

test_expect_success '/.well-known/core lists resources with rt="nano.test"' '
	nano coap get $SRV/.well-known/core >out &&
	grep "</health>;rt=\"nano.test\"" out &&
	grep "</stats>;rt=\"nano.test\"" out &&
	grep "</counter>;rt=\"nano.test\";obs" out
'

test_expect_success '/stats counts requests and answers' '
	nano coap get $SRV/nothing-here 2>/dev/null;
	nano coap get $SRV/stats >out &&
	grep "\"role\":\"test\"" out &&
	grep "\"responses_4xx\":[1-9]" out &&
	grep "\"rss_kb\":[1-9]" out
'

test_expect_success 'an unknown resource is 4.04 with a JSON error, exit 1' '
	test_expect_code 1 nano coap -v get $SRV/nothing-here >out 2>err &&
	grep "^4.04" err &&
	grep "\"error\":" out
'

test_expect_success 'a wrong method is 4.05, exit 1' '
	test_expect_code 1 nano coap -v delete $SRV/echo 2>err &&
	grep "^4.05" err
'

test_expect_success 'POST a JSON object and get it back' '
	nano coap post $SRV/echo "{\"n\":7,\"s\":\"x\"}" >out &&
	test "$(cat out)" = "{\"n\":7,\"s\":\"x\"}"
'

test_expect_success 'the payload can come from stdin' '
	echo "{\"n\":8}" | nano coap post $SRV/echo >out &&
	grep "\"n\":8" out &&
	echo "{\"n\":9}" | nano coap post $SRV/echo - >out &&
	grep "\"n\":9" out
'

test_expect_success 'malformed JSON is 4.00 with the reason' '
	test_expect_code 1 nano coap -v post $SRV/echo "{\"n\":" >out 2>err &&
	grep "^4.00" err &&
	grep "malformed JSON" out
'

test_expect_success 'a wrong type is 4.00 naming the field' '
	test_expect_code 1 nano coap post $SRV/echo "{\"n\":\"seven\"}" >out &&
	grep "field .n. must be a number" out
'

test_expect_success 'a 300,000 byte answer arrives whole, block-wise' '
	nano coap get $SRV/big >big &&
	test "$(wc -c <big)" = 300000 &&
	test "$(head -c 64 big)" = "$(printf "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk\n")"
'

test_expect_success 'a 60 KB request goes block-wise and comes back' '
	printf "{\"n\":1,\"pad\":\"%060000d\"}" 0 >req &&
	nano coap post $SRV/echo - <req >resp &&
	cmp req resp
'

test_expect_success 'a payload over the 64 KiB limit is 4.13 and changes nothing' '
	printf "{\"n\":1,\"pad\":\"%0100000d\"}" 0 >huge &&
	test_expect_code 1 nano coap -v post $SRV/echo - <huge >out 2>err &&
	grep "^4.13" err &&
	grep "exceeds the limit" out &&
	nano coap get $SRV/health
'

test_expect_success 'prefix routes hand the rest of the path to the handler' '
	nano coap put $SRV/items/a1 "{}" >out &&
	test "$(cat out)" = "{\"id\":\"a1\"}" &&
	nano coap -v delete $SRV/items/zz 2>err &&
	grep "^2.02" err &&
	test_expect_code 1 nano coap post $SRV/items/a1 "{}"
'

test_expect_success 'observe prints every notification' '
	start_bg obs nano coap -t 5 -n 3 observe $SRV/counter &&
	sleep 0.5 &&
	nano coap post $SRV/counter &&
	nano coap post $SRV/counter &&
	wait $obs_pid &&
	test "$(wc -l <obs.log)" = 3 &&
	grep -x "{\"counter\":0}" obs.log &&
	grep -x "{\"counter\":2}" obs.log
'

test_expect_success 'nothing listening: timeout or unreachable is exit 3' '
	test_expect_code 3 nano coap -t 1 get coap://$NET.99:5683/health
'

test_expect_success 'usage errors are exit 2' '
	test_expect_code 2 nano coap frob coap://$NET.1/ &&
	test_expect_code 2 nano coap get &&
	test_expect_code 2 nano coap get http://$NET.1/health 2>err &&
	grep "only coap://" err &&
	test_expect_code 2 nano coap -t 0 get $SRV/health
'

test_expect_success 'nano health: 0 when the role answers, 1 when not' '
	nano health $SRV/health &&
	test_expect_code 1 nano health coap://$NET.98/health
'

test_expect_success 'nano health coap://HOST asks the host'"'"'s /health, not its /' '
	nano health $SRV &&
	nano health $SRV/ &&
	test_expect_code 1 nano health $SRV/nothing-here
'

test_expect_success 'nano health finds the port in NANO_LISTEN' '
	start_bg srv2 "$TESTSRV" --listen 127.0.0.1:5790 &&
	wait_for_health coap://127.0.0.1:5790 &&
	NANO_LISTEN=0.0.0.0:5790 nano health &&
	NANO_LISTEN=$NET.1:5683 nano health &&
	stop_bg srv2
'

test_expect_success 'SIGTERM stops the server cleanly' '
	stop_bg srv &&
	test "$srv_status" = 0 &&
	grep "signal=15 stopping" srv.log
'

test_done
