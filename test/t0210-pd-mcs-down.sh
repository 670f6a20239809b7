#!/bin/sh
# pd while MCS is down: motion starts are queued and retried with bounded
# exponential backoff, the loop keeps serving, and the queue is delivered
# once MCS is back; a full queue drops its oldest events (logged); an
# event MCS refuses with 4.xx is dropped, not retried.
# MCS stand-in: coap-server-notls -d (libcoap's example server, which
# accepts a POST to any path); a refusing MCS: the core's testsrv, which
# has no /presence (4.04).
. "$(dirname "$0")/lib.sh"

PD=coap://$NET.1
MCS=$NET.2

motion() { nano coap post "$1/sim/motion" "{\"motion\":$2}"; }

test_expect_success 'pd starts while nothing listens at MCS' '
	start_bg pd "$NANO" pd --listen $NET.1:5683 --location entrance --node e1 \
		--sensor sim --mcs coap://$MCS --hold 0 --debounce 0 --retry-max 1s &&
	wait_for_health $PD
'

test_expect_success 'a motion start is queued and retried with growing backoff' '
	motion $PD true &&
	motion $PD false &&
	wait_until "test \$(grep -c \"presence not delivered\" pd.log) -ge 3" &&
	grep "presence not delivered (unreachable); retry in 500 ms, queued=1" pd.log &&
	grep "retry in 1000 ms" pd.log &&
	test "$(stat_of $PD queued)" = 1 &&
	test "$(stat_of $PD delivered)" = 0
'

test_expect_success 'the backoff is bounded by --retry-max' '
	wait_until "test \$(grep -c \"presence not delivered\" pd.log) -ge 4" &&
	! grep "retry in [2-9][0-9][0-9][0-9] ms" pd.log
'

test_expect_success 'the loop keeps serving while MCS is down' '
	nano coap -t 1 get $PD/presence >out &&
	grep "\"events\":1" out &&
	motion $PD true && motion $PD false &&
	test "$(stat_of $PD queued)" = 2
'

test_expect_success 'MCS comes back: the queue is delivered, in order' '
	start_bg mcs coap-server-notls -A $MCS -p 5683 -d 20 -v 7 &&
	wait_until "test \$(stat_of $PD delivered) = 2" 100 &&
	test "$(stat_of $PD queued)" = 0 &&
	grep "presence delivered ts_ms=[0-9]* attempts=[2-9]" pd.log &&
	grep "c:POST .*Uri-Path:presence.*\"location\":\"entrance\",\"node\":\"e1\"" mcs.log >posts &&
	first=$(grep "presence delivered" pd.log | sed -n 1p | sed "s/.*ts_ms=\([0-9]*\).*/\1/") &&
	second=$(grep "presence delivered" pd.log | sed -n 2p | sed "s/.*ts_ms=\([0-9]*\).*/\1/") &&
	test "$first" -lt "$second" &&
	grep "\"ts_ms\":$first}" posts &&
	grep "\"ts_ms\":$second}" posts
'

test_expect_success 'and a new motion start goes out at once' '
	motion $PD true && motion $PD false &&
	wait_until "test \$(stat_of $PD delivered) = 3" &&
	grep "presence delivered ts_ms=[0-9]* attempts=1 " pd.log
'

test_expect_success 'a full queue drops its oldest events and says so' '
	stop_bg mcs &&
	start_bg pd2 "$NANO" pd --listen $NET.3:5683 --location room --node r1 \
		--sensor sim --mcs coap://$NET.4 --hold 0 --debounce 0 --retry-max 1s &&
	wait_for_health coap://$NET.3 &&
	(
		i=0
		while [ $i -lt 40 ]; do
			motion coap://$NET.3 true >/dev/null &&
			motion coap://$NET.3 false >/dev/null || exit 1
			i=$((i + 1))
		done
	) &&
	nano coap get coap://$NET.3/presence | grep "\"events\":40" &&
	test "$(stat_of coap://$NET.3 queued)" = 32 &&
	test "$(stat_of coap://$NET.3 dropped)" = 8 &&
	test "$(grep -c "presence dropped ts_ms=[0-9]*: queue full (32)" pd2.log)" = 8
'

test_expect_success 'what was kept is delivered once MCS is there' '
	start_bg mcs2 coap-server-notls -A $NET.4 -p 5683 -d 20 -v 7 &&
	wait_until "test \$(stat_of coap://$NET.3 delivered) = 32" 200 &&
	test "$(stat_of coap://$NET.3 queued)" = 0 &&
	stop_bg pd2 && stop_bg mcs2
'

test_expect_success 'an event MCS refuses (4.xx) is dropped, not retried' '
	start_bg refusing "$TESTSRV" --listen $NET.5:5683 &&
	start_bg pd3 "$NANO" pd --listen $NET.6:5683 --location hall \
		--sensor sim --mcs coap://$NET.5 --hold 0 --debounce 0 &&
	wait_for_health coap://$NET.5 && wait_for_health coap://$NET.6 &&
	motion coap://$NET.6 true &&
	wait_until "test \$(stat_of coap://$NET.6 refused) = 1" &&
	grep "refused presence ts_ms=[0-9]* code=4.04 body={\"error\":\"no resource /presence\"}; dropped" pd3.log &&
	sleep 1 &&
	test "$(stat_of coap://$NET.6 retries)" = 0 &&
	test "$(stat_of coap://$NET.6 queued)" = 0
'

test_expect_success 'an MCS name that does not resolve is retried too' '
	start_bg pd4 "$NANO" pd --listen $NET.7:5683 --location hall \
		--sensor sim --mcs coap://no-such-mcs.invalid --hold 0 --debounce 0 --retry-max 1s &&
	wait_for_health coap://$NET.7 &&
	motion coap://$NET.7 true &&
	wait_until "test \$(stat_of coap://$NET.7 retries) -ge 2" &&
	test "$(stat_of coap://$NET.7 queued)" = 1 &&
	stop_bg pd4 &&
	grep "stopping with 1 presence events not delivered" pd4.log
'

test_done
