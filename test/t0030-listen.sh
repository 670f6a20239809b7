#!/bin/sh
# Listen addresses: a port already in use is a clear error, not a silent
# second listener; bad addresses are refused; several addresses work.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a server on $NET.1:5683' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 &&
	wait_for_health coap://$NET.1
'

test_expect_success 'a second server on the same address fails with a clear error' '
	test_expect_code 1 "$TESTSRV" --listen $NET.1:5683 2>err &&
	grep "cannot bind: address already in use" err
'

test_expect_success 'the first server still answers' '
	nano coap get coap://$NET.1/health
'

test_expect_success 'a bad listen address is refused' '
	test_expect_code 1 "$TESTSRV" --listen $NET.1:99999 2>err &&
	grep "bad port" err &&
	test_expect_code 1 "$TESTSRV" --listen nosuchhost.invalid:5683 2>err &&
	grep "cannot resolve" err
'

test_expect_success 'NANO_LISTEN is used when no flag is given' '
	NANO_LISTEN=$NET.2:5683 start_bg env "$TESTSRV" &&
	wait_for_health coap://$NET.2 &&
	stop_bg env
'

test_expect_success 'several listen addresses, IPv4 and IPv6' '
	start_bg multi "$TESTSRV" --listen $NET.3:5683,[::1]:5797 &&
	wait_for_health coap://$NET.3 &&
	nano coap get "coap://[::1]:5797/health" &&
	stop_bg multi
'

test_done
