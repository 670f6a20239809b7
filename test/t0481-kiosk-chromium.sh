#!/bin/sh
# The kiosk page in a real browser: Debian's headless Chromium, driven
# over the DevTools protocol (test/cdp.py), follows mrs through idle ->
# presenting (names and the markdown rendered) -> JSON content as a table
# -> the meeting's end (content gone) -> an mrs restart (it reconnects by
# itself), asserted on the DOM the page's script built; a screenshot of
# each state at 1920x1080 and 800x480 goes to $SHOTS_DIR (make test:
# build/.../screenshots; make screenshots copies one to docs/kiosk.png).
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

SHOTS_DIR=${SHOTS_DIR:-$TEST_DIR/../build/screenshots}
PAGE=http://$NET.10:8080/
CHROMIUM=${CHROMIUM:-chromium}

# the tests that need the browser name it
test_lazy_prereq CHROMIUM '"$CHROMIUM" --version' "$CHROMIUM: Debian chromium"

# cdp COMMAND...: one command to the browser (test/cdp.py); its answer in
# $CDP (without "ok ")
cdp() {
	echo "$*" >&3 && read -r CDP <&4 || { echo "cdp: no answer to: $*"; return 1; }
	case $CDP in
	ok*) CDP=${CDP#ok}; CDP=${CDP# } ;;
	*) echo "cdp: $*: $CDP"; return 1 ;;
	esac
}
# js EXPR: the page's value of EXPR (JSON)
js() { cdp eval "$1" && echo "$CDP"; }
# state_is idle|presenting [MS]
state_is() { cdp wait "${2:-5000}" "document.body.dataset.state === '$1'"; }
# shots NAME: the page now at both sizes
shots() {
	for s in 1920x1080 800x480; do
		cdp size ${s%x*} ${s#*x} &&
		cdp wait 2000 "innerWidth === ${s%x*}" &&
		cdp shot "$SHOTS_DIR/kiosk-$1-$s.png" || return 1
	done
}
present() {
	nano coap post $MRS/present "{\"participant\":\"$1\",\"meeting\":\"$2\",\"name\":\"$3\"}" >/dev/null
}
now_ms() { date +%s%3N; }

MD='# Agenda

1. **Budget** for 2027
2. *Hiring*: two engineers

| Item | Owner | Minutes |
|------|-------|--------:|
| Budget | Alice | 20 |
| Hiring | Bob | 15 |

<img src=x onerror="document.title=1"> stays text, as does <script>alert(1)</script>

```
nano mrs --http 127.0.0.1:8080
```'

test_expect_success CHROMIUM 'setup: ae with the meetings, mrs with its page, the browser' '
	/usr/bin/python3 - "$(when -5)" "$(when 60)" "$MD" >"$TMP/seed.json" <<-\EOF &&
	import json, sys
	start, end, md = sys.argv[1:4]
	people = [("alice", "Alice Martin"), ("bob", "Bob Chen"), ("carl", "Carl Diaz")]
	print(json.dumps({
	  "participants": [{"id": p, "name": n, "ble": "AA:BB:CC:DD:EE:%02X" % (i + 1)}
	                   for i, (p, n) in enumerate(people)],
	  "meetings": [
	    {"id": "m1", "title": "Quarterly planning", "room": "R1", "organizer": "alice",
	     "start": start, "end": end, "participants": ["bob"], "content": md},
	    {"id": "m2", "title": "Vendor review", "room": "R1", "organizer": "carl",
	     "start": start, "end": end, "participants": [],
	     "content": [{"vendor": "Acme", "offer": 1200, "ok": True},
	                 {"vendor": "Globex", "offer": 990, "ok": False}]}]}))
	EOF
	mkdir -p "$SHOTS_DIR" && rm -f "$SHOTS_DIR/latency-ms" &&
	start_ae &&
	start_bg mrsR1 "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE --http $NET.10:8080 &&
	wait_for_health $AE && wait_for_health $MRS &&
	mkfifo cdp.in cdp.out &&
	start_bg browser /usr/bin/python3 "$TEST_DIR/cdp.py" "$CHROMIUM" "$TMP/profile" cdp.in cdp.out &&
	exec 3>cdp.in 4<cdp.out &&
	read -r CDP <&4 && test "$CDP" = "ok started"
'

test_expect_success CHROMIUM 'idle: the room and a clock, nothing of any meeting' '
	cdp size 1920 1080 &&
	cdp open $PAGE &&
	state_is idle &&
	cdp wait 3000 "document.getElementById(\"bigclock\").textContent.length === 5" &&
	test "$(js "document.getElementById(\"room\").textContent")" = "\"R1\"" &&
	test "$(js "document.getElementById(\"meeting\").hidden")" = true &&
	test "$(js "document.getElementById(\"content\").innerHTML")" = "\"\"" &&
	js "window.loadedOnce = Date.now()" >/dev/null &&
	shots idle
'

test_expect_success CHROMIUM 'Alice arrives: the title, her name and the markdown rendered, live' '
	t0=$(now_ms) &&
	present alice m1 "Alice Martin" &&
	state_is presenting &&
	cdp wait 3000 "document.getElementById(\"who\").textContent.includes(\"Alice Martin\")" &&
	shown=$(js "Number(document.body.dataset.shownAt)") &&
	echo "$((shown - t0))" >"$SHOTS_DIR/latency-ms" &&
	present bob m1 "Bob Chen" &&
	cdp wait 3000 "document.querySelectorAll(\"#who li\").length === 2" &&
	test "$(js "[...document.querySelectorAll(\"#who li\")].map(e => e.textContent).join()")" = "\"Alice Martin,Bob Chen\"" &&
	test "$(js "document.getElementById(\"title\").textContent")" = "\"Quarterly planning\"" &&
	test "$(js "document.querySelector(\"#content h1\").textContent")" = "\"Agenda\"" &&
	test "$(js "document.querySelector(\"#content ol li strong\").textContent")" = "\"Budget\"" &&
	test "$(js "document.querySelectorAll(\"#content table tbody tr\").length")" = 2 &&
	test "$(js "document.querySelector(\"#content td.r\").textContent")" = "\"20\"" &&
	test "$(js "document.querySelector(\"#content pre code\").textContent.trim()")" = "\"nano mrs --http 127.0.0.1:8080\"" &&
	test "$(js "document.querySelectorAll(\"#content img, #content script\").length")" = 0 &&
	test "$(js "document.getElementById(\"content\").textContent.includes(\"<img src=x onerror\")")" = true &&
	test "$(js "document.title")" = "\"Room R1\"" &&
	test "$(js "getComputedStyle(document.getElementById(\"content\")).overflowY")" = "\"auto\"" &&
	shots presenting &&
	cdp dom "$SHOTS_DIR/kiosk-presenting.html"
'

[ -s "$SHOTS_DIR/latency-ms" ] && test_have_prereq CHROMIUM &&
	say "arrival (POST /present) -> the browser shows it: $(cat "$SHOTS_DIR/latency-ms") ms"

test_expect_success CHROMIUM 'another meeting: JSON content as a table, the first one gone' '
	present carl m2 "Carl Diaz" &&
	cdp wait 5000 "document.getElementById(\"title\").textContent === \"Vendor review\"" &&
	test "$(js "[...document.querySelectorAll(\"#content thead th\")].map(e => e.textContent).join()")" = "\"vendor,offer,ok\"" &&
	test "$(js "document.querySelector(\"#content tbody tr td\").textContent")" = "\"Acme\"" &&
	test "$(js "document.getElementById(\"who\").textContent")" = "\"Carl Diaz\"" &&
	test "$(js "document.body.textContent.includes(\"Budget\")")" = false &&
	shots json
'

test_expect_success CHROMIUM 'the meeting ends: the content is gone, the room is idle again' '
	nano coap post $AE/meetings "{\"id\":\"m3\",\"title\":\"Stand-up\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$(when -1)\",\"end\":\"$(date -u -d "+3 sec" +%Y-%m-%dT%H:%M:%SZ)\",\"content\":\"Secret **numbers**\"}" >/dev/null &&
	present alice m3 "Alice Martin" &&
	cdp wait 3000 "document.getElementById(\"title\").textContent === \"Stand-up\"" &&
	state_is idle 6000 &&
	test "$(js "document.getElementById(\"content\").innerHTML")" = "\"\"" &&
	test "$(js "document.getElementById(\"title\").textContent")" = "\"\"" &&
	test "$(js "document.getElementById(\"who\").children.length")" = 0 &&
	test "$(js "document.body.textContent.includes(\"Secret\")")" = false &&
	grep "meeting=m3 ended; display cleared" mrsR1.log &&
	shots ended
'

test_expect_success CHROMIUM 'mrs restarts: the page reconnects by itself, without a reload' '
	stop_bg mrsR1 &&
	cdp wait 5000 "document.body.dataset.net === \"down\"" &&
	start_bg mrsR1b "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE --http $NET.10:8080 &&
	wait_for_health $MRS &&
	present bob m1 "Bob Chen" &&
	cdp wait 8000 "document.getElementById(\"title\").textContent === \"Quarterly planning\"" &&
	test "$(js "document.body.dataset.net")" = "\"up\"" &&
	test "$(js "typeof window.loadedOnce")" = "\"number\""
'

test_expect_success CHROMIUM 'the screenshots: PNGs of 1920x1080 and 800x480' '
	for s in idle presenting json ended; do
		for size in 1920x1080 800x480; do
			f="$SHOTS_DIR/kiosk-$s-$size.png" &&
			/usr/bin/python3 - "$f" ${size%x*} ${size#*x} <<-\EOF || return 1
			import struct, sys
			d = open(sys.argv[1], "rb").read(24)
			assert d[:8] == b"\x89PNG\r\n\x1a\n", sys.argv[1]
			assert struct.unpack(">II", d[16:24]) == (int(sys.argv[2]), int(sys.argv[3])), d[16:24]
			EOF
		done
	done &&
	say "screenshots in $(cd "$SHOTS_DIR" && pwd)" &&
	cdp quit; exec 3>&- 4<&- &&
	stop_cleanly mrsR1b
'

test_done
