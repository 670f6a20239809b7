#!/bin/sh
# 200 synthetic participants arriving within one second (nano demo
# --participants) all reach "presenting" and their room's display; the
# stranger among them is denied.
. "$(dirname "$0")/lib.sh"

export TMPDIR=$TMP


test_expect_success '200 participants within 1 s: all presenting and on the display' '
	nano demo --net $NET --participants 200 --within 1s --speed 10 --json >out &&
	/usr/bin/python3 -c "import json,sys; d=json.load(open(\"out\")); print(d[\"presenting\"], d[\"on_display\"], d[\"stranger_state\"], d[\"failures\"], d[\"latency_ms\"][\"motion_to_decision\"][\"n\"])" >got &&
	test "$(cat got)" = "200 200 denied [] 200"
'

test_expect_success 'two rooms, 200 participants: each room shows its own meeting' '
	nano demo --net $NET --participants 200 --rooms 2 --within 1s --speed 10 --json >out &&
	/usr/bin/python3 -c "import json,sys; d=json.load(open(\"out\")); print(d[\"ok\"], d[\"presenting\"], d[\"on_display\"], sorted(d[\"peak_rss_kb\"]))" >got &&
	grep -q "^True 200 200 \[.ae., .bs entrance., .bs room., .mcs., .mrs R1., .mrs R2., .pd entrance., .pd room., .ug.\]$" got
'

test_done
