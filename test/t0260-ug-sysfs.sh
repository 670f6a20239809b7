#!/bin/sh
# nano ug's sysfs backend against a fake /sys/class/gpio in the temp dir:
# lines are exported and made outputs, every LED starts off, the chase is
# written to the value files, and after SIGTERM every value file is 0.
. "$(dirname "$0")/lib.sh"

UG=coap://$NET.1
G=$TMP/gpio

# A line as the kernel shows it once exported (value 1: ug must clear it).
fake_line() {
	mkdir -p "$G/gpio$1" &&
	echo in >"$G/gpio$1/direction" &&
	echo none >"$G/gpio$1/edge" &&
	echo 1 >"$G/gpio$1/active_low" &&
	echo 1 >"$G/gpio$1/value"
}
value() { cat "$G/gpio$1/value"; }
values() { for l in 17 27 22 5; do printf "%s" "$(value $l)"; done; }
# The same four as GET /leds reports them.
leds() {
	nano coap get $UG/leds | grep -o "\"on\":[a-z]*" |
		sed "s/\"on\":true/1/; s/\"on\":false/0/" | tr -d "\n"
}

test_expect_success 'a fake sysfs tree with four exported lines' '
	mkdir -p "$G" && : >"$G/export" && : >"$G/unexport" &&
	for l in 17 27 22 5; do fake_line $l; done &&
	test "$(cat $G/gpio5/value)" = 1
'

test_expect_success 'ug makes every line an output, active high, off' '
	start_bg ug "$NANO" ug --listen $NET.1:5683 --sysfs-root "$G" \
		--leds sysfs:17,27,22,5 --route R1=17,27,22 --route R2=17,5 --step 80ms &&
	wait_for_health $UG &&
	(
		for l in 17 27 22 5; do
			test "$(cat $G/gpio$l/direction)" = out &&
			test "$(cat $G/gpio$l/active_low)" = 0 &&
			test "$(value $l)" = 0 || exit 1
		done
	) &&
	test ! -s "$G/export"
'

test_expect_success 'a guidance to R1 walks the value files 17, 27, 22' '
	nano coap post $UG/guide "{\"participant\":\"alice\",\"room\":\"R1\"}" &&
	wait_until "test \"\$(values)\" = 1000" &&
	wait_until "test \"\$(values)\" = 0100" &&
	wait_until "test \"\$(values)\" = 0010" &&
	wait_until "test \"\$(values)\" = 0000"
'

# (That never two LEDs are lit is asserted on the sim log in t0250: four
# files cannot be read at one instant, the log is in order.)
test_expect_success 'line 5, on R2 only, stays 0 while R1 is guided' '
	(
		i=0
		while [ $i -lt 40 ]; do
			test "$(value 5)" = 0 || exit 1
			i=$((i + 1))
			sleep 0.02
		done
	)
'

test_expect_success 'GET /leds agrees with the value files' '
	n=0 &&
	while [ $n -lt 20 ]; do
		a=$(leds) && f=$(values) && b=$(leds) &&
		if [ "$a" = "$b" ]; then break; fi
		n=$((n + 1))
	done &&
	test "$a" = "$b" &&
	test "$a" = "$f"
'

test_expect_success 'SIGTERM with guidances running: every value file is 0' '
	nano coap post $UG/guide "{\"participant\":\"bob\",\"room\":\"R2\"}" &&
	wait_until "test \"\$(value 5)\" = 1" &&
	stop_bg ug &&
	test "$ug_status" = 0 &&
	test "$(values)" = 0000 &&
	grep "leds off" ug.log
'

test_expect_success 'a line that is not exported yet is exported first' '
	rm -rf "$G/gpio27" && : >"$G/export" &&
	test_expect_code 1 "$NANO" ug --listen $NET.2:5683 --sysfs-root "$G" \
		--leds sysfs:17,27 --route R1=17,27 2>err &&
	test "$(cat $G/export)" = 27 &&
	grep "gpio27 did not appear after export" err
'

test_expect_success 'active-low LEDs: active_low is written before the direction' '
	fake_line 27 && echo 0 >"$G/gpio17/active_low" &&
	start_bg ug2 "$NANO" ug --listen $NET.3:5683 --sysfs-root "$G" \
		--leds sysfs:17,27:active-low --route R1=17,27 &&
	wait_for_health coap://$NET.3 &&
	test "$(cat $G/gpio17/active_low)" = 1 &&
	test "$(cat $G/gpio27/active_low)" = 1 &&
	test "$(value 17)" = 0 && test "$(value 27)" = 0 &&
	stop_bg ug2
'

test_expect_success 'no sysfs tree at all: a clear error, exit 1' '
	test_expect_code 1 "$NANO" ug --listen $NET.4:5683 --sysfs-root "$TMP/nothing" \
		--leds sysfs:17 --route R1=17 2>err &&
	grep "cannot open $TMP/nothing/export" err
'

test_done
