#!/bin/sh
# nano pd's sysfs backend against a fake /sys/class/gpio in the temp dir:
# the line is configured (input, both edges, active_low), a change written
# to the value file is a motion edge (a plain file raises no POLLPRI, so
# pd re-reads it on a 20 ms timer, which it logs), the motion start
# reaches the MCS stand-in, and /sim/motion is refused.
. "$(dirname "$0")/lib.sh"

PD=coap://$NET.1
MCS=$NET.2
G=$TMP/gpio

presence() { nano coap get $PD/presence; }

test_expect_success 'a fake sysfs tree with line 4 exported' '
	mkdir -p "$G/gpio4" && : >"$G/export" && : >"$G/unexport" &&
	echo out >"$G/gpio4/direction" &&
	echo none >"$G/gpio4/edge" &&
	echo 0 >"$G/gpio4/active_low" &&
	echo 0 >"$G/gpio4/value"
'

test_expect_success 'pd configures the line: input, both edges, active low' '
	start_bg mcs coap-server-notls -A $MCS -p 5683 -d 20 -v 7 &&
	start_bg pd "$NANO" pd --listen $NET.1:5683 --location room --node r-pd \
		--sensor sysfs:4:active-low --sysfs-root "$G" --mcs coap://$MCS \
		--hold 300ms --debounce 50ms &&
	wait_for_health $PD &&
	test "$(cat $G/gpio4/direction)" = in &&
	test "$(cat $G/gpio4/edge)" = both &&
	test "$(cat $G/gpio4/active_low)" = 1 &&
	test ! -s "$G/export" &&
	grep "gpio=sysfs:4 value is not on sysfs; re-read every 20 ms" pd.log &&
	presence | grep "\"motion\":false,\"events\":0"
'

test_expect_success 'the value file goes to 1: motion start, POSTed to MCS' '
	echo 1 >"$G/gpio4/value" &&
	wait_until "presence | grep -q \"\\\"motion\\\":true\"" &&
	presence | grep "\"location\":\"room\",\"motion\":true,\"events\":1" &&
	wait_until "grep -q \"c:POST .*Uri-Path:presence.*{\\\"location\\\":\\\"room\\\",\\\"node\\\":\\\"r-pd\\\",\\\"ts_ms\\\":[0-9]*}\" mcs.log"
'

test_expect_success 'back to 0: motion ends after the hold' '
	echo 0 >"$G/gpio4/value" &&
	wait_until "presence | grep -q \"\\\"motion\\\":false\"" &&
	presence | grep "\"events\":1"
'

test_expect_success 'a 10 ms blip in the value file is not seen as motion' '
	echo 1 >"$G/gpio4/value" && echo 0 >"$G/gpio4/value" &&
	sleep 0.3 &&
	presence | grep "\"motion\":false,\"events\":1"
'

test_expect_success 'garbage in the value file is logged once, then recovered from' '
	echo x >"$G/gpio4/value" &&
	wait_until "grep -q \"gpio=sysfs:4 cannot read its value\" pd.log" &&
	echo 1 >"$G/gpio4/value" &&
	wait_until "presence | grep -q \"\\\"events\\\":2\"" &&
	test "$(grep -c "cannot read its value" pd.log)" = 1 &&
	echo 0 >"$G/gpio4/value"
'

test_expect_success 'POST /sim/motion without the sim sensor: 4.04 saying why' '
	test_expect_code 1 nano coap -v post $PD/sim/motion "{\"motion\":true}" >out 2>code &&
	grep "^4.04" code &&
	grep "no simulated sensor: this pd reads sysfs:4" out &&
	! nano coap get $PD/.well-known/core | grep "sim/motion"
'

test_expect_success 'a line that export does not create: exit 1, clear error' '
	test_expect_code 1 "$NANO" pd --listen $NET.3:5683 --location room \
		--sensor sysfs:6 --sysfs-root "$G" --mcs coap://$MCS 2>err &&
	test "$(cat $G/export)" = 6 &&
	grep "gpio6 did not appear after export" err
'

test_expect_success 'SIGTERM stops pd cleanly' '
	stop_bg pd &&
	test "$pd_status" = 0 &&
	grep "stopped" pd.log
'

test_done
