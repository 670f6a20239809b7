#!/bin/sh
# What Observe registrations may cost a role: --max-observers-resource and
# --max-observers (5.03 with Max-Age past them), a flood of registrations
# from sockets that close at once, and the reclaiming of observers that
# are gone (confirmable notifications every --observe-refresh that nobody
# acknowledges), while a live observer keeps its registration.
. "$(dirname "$0")/lib.sh"

RAW="python3 $TEST_DIR/coap-raw.py"
PD=coap://$NET.4
UG=coap://$NET.3

test_expect_success 'setup: pd (4 on /presence), ug (3 in all), refresh every second' '
	start_bg pd "$NANO" pd --listen $NET.4:5683 --sensor sim --location entrance \
		--mcs coap://$NET.99 --max-observers-resource 4 --observe-refresh 1s &&
	start_bg ug "$NANO" ug --listen $NET.3:5683 --leds sim:1,2,3 --route R1=1,2,3 \
		--max-observers 3 --observe-refresh 1s &&
	wait_for_health $PD && wait_for_health $UG
'

test_expect_success 'a live observer (nano coap observe) is registered' '
	start_bg obs "$NANO" coap -t 60 observe $PD/presence &&
	wait_until "test \"\$(stat_of $PD observers)\" = 1" 300
'

test_expect_success 'per resource: 3 more fit on /presence, the 5th is 5.03' '
	$RAW $NET.4 5683 observe presence 4 >out &&
	test "$(cat out)" = "ok=3 refused=1 other=0" &&
	test "$(stat_of $PD refused_observers)" = 1
'

test_expect_success 'per role: ug takes 3 observers in all' '
	$RAW $NET.3 5683 observe guide 5 >out &&
	test "$(cat out)" = "ok=3 refused=2 other=0"
'

test_expect_success 'a flood of 3,000 registrations: refused, pd answers, RSS bounded' '
	$RAW $NET.4 5683 observe presence 3000 >out &&
	cat out &&
	# a slow run (make check) may see the gone ones reclaimed meanwhile,
	# each slot taken again by the flood: a few, never more than the cap
	refused=$(sed -n "s/.*refused=\([0-9]*\).*/\1/p" out) &&
	test "$refused" -ge 2970 &&
	test "$(stat_of $PD observers)" -le 4 &&
	nano coap get $PD/health &&
	rss=$(stat_of $PD rss_kb) && say "pd rss after the flood: $rss kB" &&
	test "$rss" -lt "$(rss_max 4000)" &&
	test "$(grep -c "observe refused" pd.log)" -le 2
'

test_expect_success 'the gone observers are reclaimed; the live one stays' '
	wait_until "test \"\$(stat_of $PD observers)\" = 1" 1200 &&
	wait_until "test \"\$(stat_of $UG observers)\" = 0" 1200 &&
	kill -0 $obs_pid
'

test_expect_success 'the live observer still gets notifications' '
	nano coap post $PD/sim/motion "{\"motion\":true}" >/dev/null &&
	wait_until "grep -q \"\\\"motion\\\":true\" obs.log" 300
'

test_expect_success 'after reclaiming, new observers are taken again' '
	$RAW $NET.4 5683 observe presence 3 >out &&
	{ test "$(cat out)" = "ok=3 refused=0 other=0" ||
	  { cat out; nano coap get $PD/stats; false; }; }
'

test_expect_success 'both stop cleanly' '
	stop_bg obs &&
	stop_bg pd && test "$pd_status" = 0 &&
	stop_bg ug && test "$ug_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" pd.log ug.log
'

test_done
