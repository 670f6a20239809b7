#!/bin/sh
# 10,000 malformed datagrams leave a server answering /health.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a core server' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 --log-level error &&
	wait_for_health coap://$NET.1
'

test_expect_success '10,000 malformed datagrams are survived' '
	perl "$TEST_DIR/fuzz-datagrams.pl" $NET.1 5683 10000 1 >out &&
	grep "sent 10000" out &&
	kill -0 $srv_pid &&
	nano coap get coap://$NET.1/health
'

test_expect_success 'a second round with another seed, then a valid request' '
	perl "$TEST_DIR/fuzz-datagrams.pl" $NET.1 5683 10000 2 &&
	nano coap post coap://$NET.1/echo "{\"n\":1}" >out &&
	grep "\"n\":1" out
'

test_expect_success 'the server stops cleanly afterwards (no leak or crash report)' '
	stop_bg srv &&
	test "$srv_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" srv.log
'

test_done
