#!/bin/sh
# The core's client inside a long-lived process: a request to a peer that
# is down is given up cleanly (unreachable or timeout) and is NOT
# retransmitted behind the caller's back once the peer comes up; a peer
# that is up gets exactly one copy.
. "$(dirname "$0")/lib.sh"

SRV=coap://$NET.1

# received: how many relayed POSTs libcoap's coap-server (-v 7) logged
received() {
	grep -c "relayed" "$1" || true
}

test_expect_success 'setup: a core server that relays requests' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 &&
	wait_for_health $SRV
'

test_expect_success 'a relay to a peer that is down ends as unreachable/timeout' '
	nano coap post $SRV/relay "{\"uri\":\"coap://$NET.2/x\",\"timeout_ms\":1500}" &&
	n=40; until grep -q "relay code=-" srv.log; do
		n=$((n - 1)); test $n -gt 0 || return 1; sleep 0.1; done &&
	grep -E "relay code=-(1|2)" srv.log
'

test_expect_success 'the given-up request never reaches the peer when it comes up' '
	start_bg ref coap-server-notls -A $NET.2 -p 5683 -d 10 -v 7 &&
	sleep 7 &&
	test "$(received ref.log)" = 0
'

test_expect_success 'with the peer up, one relay is exactly one request' '
	nano coap post $SRV/relay "{\"uri\":\"coap://$NET.2/x\",\"timeout_ms\":3000}" &&
	n=40; until grep -q "relay code=201" srv.log; do
		n=$((n - 1)); test $n -gt 0 || return 1; sleep 0.1; done &&
	sleep 1 &&
	test "$(received ref.log)" = 1
'

test_expect_success 'bad relay input is 4.00' '
	test_expect_code 1 nano coap post $SRV/relay "{\"uri\":\"http://x\"}" >out &&
	grep "only coap://" out &&
	test_expect_code 1 nano coap post $SRV/relay "{\"uri\":7}"
'

test_done
