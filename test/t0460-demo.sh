#!/bin/sh
# nano demo: the paper's scenario with every role a child process; it
# prints the timeline and the latencies, exits 0 only when all four are on
# the display and Eve was denied, and leaves no process behind: not on
# success, not on failure, not on Ctrl-C.
. "$(dirname "$0")/lib.sh"

export TMPDIR=$TMP


# pids_of OUTPUT: the children's pids the demo printed
pids_of() {
	sed -n "s/.* pid \([0-9][0-9]*\)$/\1/p" "$1"
}
# all_gone OUTPUT: none of them is alive
all_gone() {
	for p in $(pids_of "$1"); do
		kill -0 "$p" 2>/dev/null && { echo "pid $p still alive" >&2; return 1; }
	done
	test -n "$(pids_of "$1")"
}

test_expect_success 'the paper s scenario: exit 0, every step, everyone on the display' '
	nano demo --net $NET --speed 20 >out &&
	grep "Result: 4/4 participants presenting, 4/4 on their room.s display; stranger denied by mcs, 1 denial(s) in AE.s log." out &&
	test "$(pids_of out | wc -l)" = 8 &&
	for who in Alice Bob Carl David; do
		grep -q "$who  *guidance_on" out && grep -q "$who  *presenting" out || echo "missing $who" >>bad
	done &&
	test ! -s bad &&
	grep -q "Eve (stranger)  *denied" out &&
	grep "motion -> auth decision" out &&
	grep "motion -> guidance on" out &&
	grep "arrival -> content shown" out &&
	grep "paper (Table V" out &&
	! grep -q FAILED out
'

test_expect_success 'two phones with IRKs (one rotating while walking) and a badge reach the display as one person each' '
	grep "Bob  *carries a phone (IRK; rotates while walking)" out &&
	grep "Carl  *carries a phone (IRK), sending from [4-7]" out &&
	grep "David  *carries a badge (iBeacon)" out &&
	grep -q "Bob  *same_person" out &&
	grep -q "David  *presenting" out &&
	test "$(grep -c "^  *+[0-9.]*s  Bob  *presenting  *m1" out)" = 1
'

test_expect_success 'every role was stopped and its temp dir removed' '
	all_gone out &&
	! ls -d "$TMP"/nano-demo.* 2>/dev/null
'

test_expect_success '--json: the results for a benchmark' '
	nano demo --net $NET --speed 20 --json >out.json &&
	/usr/bin/python3 - <<-\EOF
	import json
	d = json.load(open("out.json"))
	assert d["ok"] is True and d["participants"] == 4 and d["presenting"] == 4, d
	assert d["stranger_state"] == "denied" and d["stranger_denials_logged"] == 1, d
	assert d["latency_ms"]["motion_to_guidance"]["n"] == 4, d
	assert d["latency_ms"]["motion_to_denied"]["n"] == 1, d
	assert len(d["peak_rss_kb"]) == 8 and min(d["peak_rss_kb"].values()) > 0, d
	EOF
'

test_expect_success 'a role that cannot start: exit 1, the rest stopped, logs kept' '
	start_bg squat "$TESTSRV" --listen $NET.1:5683 &&
	wait_for_health coap://$NET.1 &&
	test_expect_code 1 nano demo --net $NET --speed 20 >out &&
	grep "FAILED: ae exited early" out &&
	all_gone out &&
	dir=$(sed -n "s/^Logs and database kept in //p" out) &&
	grep "address already in use" "$dir/ae.log" &&
	stop_bg squat
'

test_expect_success 'Ctrl-C: every role stopped, exit 130' '
	start_bg demo "$NANO" demo --net $NET --speed 0.05 &&
	wait_for_health coap://$NET.2 &&
	wait_for_health coap://$NET.10 &&
	kill -INT $demo_pid &&
	wait $demo_pid; status=$? &&
	BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $demo_pid\b//") &&
	test $status = 130 &&
	grep "interrupted; stopping the roles" demo.log &&
	all_gone demo.log
'

test_expect_success '--stay: the roles keep running after the report' '
	start_bg stay "$NANO" demo --net $NET --speed 20 --stay &&
	wait_until "grep -q \"Ctrl-C stops them\" stay.log" 400 &&
	grep "Result: 4/4 participants presenting" stay.log &&
	grep "kiosk R1     http://$NET.10:8080/" stay.log &&
	nano coap -t 2 get coap://$NET.10/health >/dev/null
'

test_expect_success CURL '--stay: the kiosk page shows the meeting' '
	curl -sS -N --max-time 1 http://$NET.10:8080/events >ev; test $? = 28 &&
	grep "\"title\":\"Kickoff\"" ev && grep "\"name\":\"Alice\"" ev &&
	grep "\"name\":\"David\"" ev
'

test_expect_success '--stay: Ctrl-C ends it, exit 0' '
	kill -INT $stay_pid &&
	wait $stay_pid; status=$? &&
	BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $stay_pid\b//") &&
	test $status = 0 &&
	all_gone stay.log
'

test_expect_success 'usage errors are exit 2' '
	test_expect_code 2 nano demo --speed 0 &&
	test_expect_code 2 nano demo --rooms 2 &&
	test_expect_code 2 nano demo --net 10.0.0 &&
	test_expect_code 2 nano demo --participants -1 &&
	test_expect_code 2 nano demo extra
'

test_done
