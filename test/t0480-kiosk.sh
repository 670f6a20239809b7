#!/bin/sh
# mrs's kiosk page over HTTP (curl and raw sockets; t0481 has the browser):
# the page and its event stream follow the display, and every bound holds:
# only GET and HEAD (405), header and URL size (431, 414), clients
# (--http-max-clients), a client that takes no data or sends no whole
# request within --http-timeout, and the kiosk token.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

skip_all_unless CURL

PAGE=http://$NET.10:8080
TOKEN=room-R1-display-0123456789
# curl with a deadline; -s quiet, -S errors shown
get() { curl -sS --max-time 5 "$@"; }

test_expect_success 'setup: ae with meetings, mrs with its page on its own address' '
	/usr/bin/python3 - "$(when -5)" "$(when 60)" >"$TMP/seed.json" <<-\EOF &&
	import json, sys
	start, end = sys.argv[1:3]
	people = ["alice", "bob", "carl"]
	md = "# Agenda\n\n1. *Budget*\n2. <script>alert(1)</script>\n"
	print(json.dumps({
	  "participants": [{"id": p, "name": p.title(), "ble": "AA:BB:CC:DD:EE:%02X" % (i + 1)}
	                   for i, p in enumerate(people)],
	  "meetings": [
	    {"id": "m1", "title": "Kickoff", "room": "R1", "organizer": "alice", "start": start,
	     "end": end, "participants": ["bob"], "content": md},
	    {"id": "m5", "title": "Big", "room": "R1", "organizer": "carl", "start": start,
	     "end": end, "participants": [], "content": "x" * 300000}]}))
	EOF
	start_ae &&
	start_bg mrsR1 "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE \
		--http $NET.10:8080 --http-max-clients 4 --http-timeout 2s &&
	wait_for_health $AE && wait_for_health $MRS &&
	grep "http=$NET.10:8080 kiosk page max_clients=4" mrsR1.log
'

test_expect_success 'the page, its script and style: GET and HEAD, with a CSP' '
	get -D h -o page $PAGE/ &&
	grep "^HTTP/1.1 200" h && grep -i "^content-type: text/html" h &&
	grep -i "^content-security-policy: default-src .none.; script-src .self." h &&
	grep -i "^x-content-type-options: nosniff" h &&
	grep "<script src=\"kiosk.js\"" page &&
	get -o js $PAGE/kiosk.js && grep EventSource js &&
	get -o css $PAGE/kiosk.css && grep "#content" css &&
	get -I $PAGE/ >h && grep "^HTTP/1.1 200" h &&
	get -o nf -w "%{http_code}" $PAGE/nope >code && test "$(cat code)" = 404
'

test_expect_success 'any other method is 405 with Allow: GET, HEAD; its body is not read' '
	for m in POST PUT DELETE PATCH OPTIONS; do
		get -X $m -d "x=1" -D h -o /dev/null $PAGE/ &&
		grep "^HTTP/1.1 405" h && grep -i "^allow: GET, HEAD" h || return 1
	done &&
	nano coap get $MRS/stats >s &&
	test "$(pyjson s "d[\"http_not_allowed\"]")" = 5
'

test_expect_success 'headers over 8 KiB are 431, a URL over 1 KiB 414' '
	big=$(head -c 20000 /dev/zero | tr "\0" a) &&
	get -o /dev/null -w "%{http_code}" -H "X-Big: $big" $PAGE/ >code &&
	test "$(cat code)" = 431 &&
	get -o /dev/null -w "%{http_code}" "$PAGE/?$(head -c 2000 /dev/zero | tr "\0" b)" >code &&
	test "$(cat code)" = 414 &&
	get -o /dev/null -w "%{http_code}" $PAGE/ >code && test "$(cat code)" = 200
'

test_expect_success 'GET /events: retry:, the idle state at once, a keep-alive comment' '
	curl -sS -N --max-time 1.6 -D h $PAGE/events >ev; test $? = 28 &&
	grep -i "^content-type: text/event-stream" h &&
	head -n 1 ev | grep "^retry: 2000$" &&
	grep "^data: {\"room\":\"R1\",\"meeting\":null," ev &&
	grep "^: keep-alive$" ev
'

# clients N: mrs counts N HTTP connections
clients() {
	nano coap get $MRS/stats >s && test "$(pyjson s "d[\"http_clients\"]")" = "$1"
}

# the stream of one client, in the background: evN.log
stream() {
	start_bg "ev$1" curl -sS -N --max-time 30 $PAGE/events &&
	wait_until "grep -q ^data: ev$1.log"
}

test_expect_success 'a present shows on the stream: title, name, the content as safe HTML' '
	stream 1 &&
	nano coap post $MRS/present "{\"participant\":\"alice\",\"meeting\":\"m1\",\"name\":\"Alice A.\"}" &&
	wait_until "grep -q \"meeting.:.m1\" ev1.log" &&
	grep "\"title\":\"Kickoff\"" ev1.log &&
	grep "\"format\":\"markdown\"" ev1.log &&
	grep "\"name\":\"Alice A.\"" ev1.log &&
	grep "<h1>Agenda</h1>" ev1.log && grep "<em>Budget</em>" ev1.log &&
	grep "&lt;script&gt;alert(1)&lt;/script&gt;" ev1.log &&
	! grep "<script>" ev1.log &&
	nano coap get $MRS/display >d &&
	test "$(pyjson d "[a.get(\"name\") for a in d[\"attendees\"]]")" = "[\"Alice A.\"]"
'

test_expect_success 'clients past --http-max-clients are closed at once, counted, logged once' '
	wait_until "clients 1" 60 &&
	stream 2 && stream 3 && stream 4 &&
	nano coap get $MRS/stats >s &&
	test "$(pyjson s "d[\"http_streams\"]")" = 4 &&
	for i in 1 2; do
		curl -sS --max-time 5 -o out $PAGE/ 2>err; rc=$?
		test $rc = 52 || test $rc = 56 || { echo "curl: $rc"; return 1; }
	done &&
	nano coap get $MRS/stats >s &&
	test "$(pyjson s "d[\"http_refused\"] >= 2")" = true &&
	test "$(grep -c "http client refused" mrsR1.log)" = 1
'

test_expect_success 'a client gone is noticed while its stream waits, and its place is free' '
	stop_bg ev4 &&
	wait_until "clients 3" 60 &&
	get -o /dev/null -w "%{http_code}" $PAGE/ >code && test "$(cat code)" = 200
'

test_expect_success 'a client that takes no data is dropped; the others get the state' '
	cat >slow.py <<-\EOF &&
	import socket, sys, time
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
	s.connect((sys.argv[1], int(sys.argv[2])))
	s.sendall(b"GET /events HTTP/1.1\r\nHost: kiosk\r\n\r\n")
	print("connected", flush=True)
	time.sleep(30)
	EOF
	start_bg slow /usr/bin/python3 slow.py $NET.10 8080 &&
	wait_until "grep -q connected slow.log" &&
	nano coap post $MRS/present "{\"participant\":\"carl\",\"meeting\":\"m5\"}" &&
	wait_until "grep -q \"meeting.:.m5\" ev2.log" 100 &&
	wait_until "grep -q \"took no data for 2000 ms\" mrsR1.log" 120 &&
	nano coap get $MRS/stats >s &&
	test "$(pyjson s "d[\"http_dropped\"]")" = 1 &&
	test "$(pyjson s "d[\"http_clients\"]")" = 3 &&
	grep -c x ev3.log >/dev/null && grep -q "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" ev3.log &&
	stop_bg slow
'

test_expect_success 'a request trickled in byte by byte is cut at --http-timeout' '
	/usr/bin/python3 - $NET.10 8080 <<-\EOF
	import socket, sys, time
	s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
	s.settimeout(0.3)
	t0 = time.time()
	for c in b"GET / HTTP/1.1\r\nHost: kiosk\r\nX-Slow: " + b"a" * 100:
	    try:
	        s.sendall(bytes([c]))
	        if s.recv(1) == b"":
	            break
	    except socket.timeout:
	        continue
	    except OSError:
	        break
	took = time.time() - t0
	assert 1.8 < took < 4.5, took
	print("closed after %.1f s" % took)
	EOF
	grep "no whole request within 2000 ms" mrsR1.log &&
	nano coap get $MRS/stats >s &&
	test "$(pyjson s "d[\"http_dropped\"]")" = 2
'

test_expect_success 'SIGTERM: the streams end (curl sees a whole answer), mrs exits 0' '
	stop_cleanly mrsR1 &&
	for n in 1 2 3; do
		eval "pid=\$ev${n}_pid" &&
		wait $pid || { echo "curl of ev$n: $?"; return 1; }
		BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $pid\b//")
	done &&
	grep -q "meeting.:.m5" ev3.log
'

test_expect_success 'a non-loopback --http without a token: mrs does not start (exit 1)' '
	test_expect_code 1 nano mrs --listen $NET.20:5683 --room R1 --ae $AE --http 0.0.0.0:18080 2>err &&
	grep "not a loopback address" err && grep "kiosk-R1" err &&
	test_expect_code 1 nano mrs --listen $NET.20:5683 --room R1 --ae $AE --http "[::]:18080" 2>err &&
	! nano coap -t 0.5 get coap://$NET.20/health &&
	test_expect_code 2 nano mrs --listen $NET.20:5683 --room R1 --http nohost 2>err &&
	grep -- "--http" err &&
	test_expect_code 2 nano mrs --listen $NET.20:5683 --room R1 --http $NET.20:0 &&
	test_expect_code 2 nano mrs --listen $NET.20:5683 --room R1 --http $NET.20:80 --kiosk-token short 2>err &&
	grep "16 to 128" err &&
	test_expect_code 2 nano mrs --listen $NET.20:5683 --room R1 --http $NET.20:80 --http-max-clients 0 &&
	test_expect_code 2 nano mrs --listen $NET.20:5683 --room R1 --http $NET.20:80 --http-timeout 10ms
'

test_expect_success 'the port in use: exit 1; --http off serves no page' '
	start_bg squat /usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.bind((\"$NET.21\", 8080)); s.listen(1); print(\"up\", flush=True); time.sleep(30)" &&
	wait_until "grep -q up squat.log" &&
	test_expect_code 1 nano mrs --listen $NET.21:5683 --room R1 --ae $AE --http $NET.21:8080 2>err &&
	grep "cannot listen on $NET.21:8080" err &&
	stop_bg squat &&
	start_bg off "$NANO" mrs --listen $NET.22:5683 --room R1 --ae $AE --http off &&
	wait_for_health coap://$NET.22 &&
	! grep "kiosk page" off.log &&
	! nano coap get coap://$NET.22/stats | grep http_ &&
	stop_cleanly off
'

test_expect_success 'a token (--kiosk-token): required for the page and its events, on loopback too' '
	start_bg tok "$NANO" mrs --listen $NET.11:5683 --room R1 --ae $AE \
		--http $NET.11:8080 --kiosk-token $TOKEN &&
	wait_for_health coap://$NET.11 &&
	grep "kiosk page (token required)" tok.log &&
	! grep -- "$TOKEN" tok.log &&
	for u in / "/?token=wrong" /events "/events?token=${TOKEN}x"; do
		get -o /dev/null -w "%{http_code}" "http://$NET.11:8080$u" >code &&
		test "$(cat code)" = 403 || return 1
	done &&
	get -o /dev/null -w "%{http_code}" http://$NET.11:8080/kiosk.js >code && test "$(cat code)" = 200 &&
	get -o page "http://$NET.11:8080/?token=$TOKEN" && grep kiosk.js page &&
	curl -sS -N --max-time 1 "http://$NET.11:8080/events?token=$TOKEN" >ev; grep "^data:" ev &&
	nano coap get coap://$NET.11/stats >s &&
	test "$(pyjson s "d[\"http_forbidden\"]")" = 4 &&
	stop_cleanly tok
'

test_expect_success 'the token from the keys file: the key of kiosk-ROOM, in hex' '
	nano keys new mrs-R1 kiosk-R1 mcs >k &&
	hex=$(sed -n "s/^kiosk-R1 //p" k) &&
	start_bg keyed env -u NANO_INSECURE "$NANO" mrs --keys k --listen $NET.12:5684 \
		--room R1 --ae coaps://$NET.1 --http $NET.12:8080 &&
	wait_until "grep -q \"kiosk page (token required)\" keyed.log" &&
	get -o /dev/null -w "%{http_code}" http://$NET.12:8080/ >code && test "$(cat code)" = 403 &&
	get -o /dev/null -w "%{http_code}" "http://$NET.12:8080/?token=$hex" >code &&
	test "$(cat code)" = 200 &&
	stop_cleanly keyed &&
	nano keys pick k mrs-R1 mcs >k2 &&
	test_expect_code 1 env -u NANO_INSECURE "$NANO" mrs --keys k2 --listen $NET.12:5684 \
		--room R1 --http 0.0.0.0:18080 2>err &&
	grep "kiosk-R1 line in the keys file" err
'

test_done
