#!/bin/sh
# Input the README promises to refuse is refused, and input it promises
# to take is taken: RFC 3339 times (1970 to 9999 in UTC, either case of
# T and Z, no leap seconds), ids ("." and ".." are none, one rule in ae,
# ug and mrs), meeting content (no \u0000, exactly 1 MiB in any JSON
# escaping), durations (at most a year after the unit), and bs's flags
# (checked before its port is bound).
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
UG=coap://$NET.3
MRS=coap://$NET.10

# expect_code CODE METHOD URI [BODY|-]: nano coap answers CODE (its text in out)
expect_code() {
	want=$1
	shift
	"$NANO" coap -v "$@" >out 2>err
	head -n 1 err | grep -q "^$want" || { echo "$*: want $want, got:"; cat err out; return 1; }
}
# meeting ID START END [EXTRA]: a meeting body in R1
meeting() {
	echo "{\"id\":\"$1\",\"title\":\"T\",\"room\":\"R1\",\"start\":\"$2\",\"end\":\"$3\"${4:-}}"
}
meetings() { sqlite3 ae.db "SELECT count(*) FROM meetings"; }

test_expect_success 'setup: ae, ug and mrs' '
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	start_bg ug "$NANO" ug --listen $NET.3:5683 --leds sim --route R1=1,2,3 &&
	start_bg mrs "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE &&
	for h in 1 3 10; do wait_for_health coap://$NET.$h || return 1; done
'

test_expect_success 'ae: a time before 1970 or in year 10000 once its offset is applied is 4.00' '
	expect_code 4.00 post $AE/meetings "$(meeting m1 1970-01-01T00:00:00+01:00 2026-01-01T00:00:00Z)" &&
	grep "field .start. must be an RFC 3339 time" out &&
	expect_code 4.00 post $AE/meetings "$(meeting m1 2026-01-01T00:00:00Z 9999-12-31T23:00:00-05:00)" &&
	grep "field .end. must be an RFC 3339 time" out &&
	expect_code 4.00 post $AE/meetings "$(meeting m1 1969-12-31T23:59:59Z 2026-01-01T00:00:00Z)" &&
	test "$(meetings)" = 0
'

test_expect_success 'ae: offsets are applied, and times answered in UTC' '
	expect_code 2.01 post $AE/meetings "$(meeting m1 1970-01-01T01:00:00+01:00 9999-12-31T23:59:59+01:00)" &&
	grep "\"start\":\"1970-01-01T00:00:00Z\",\"end\":\"9999-12-31T22:59:59Z\"" out &&
	expect_code 2.01 post $AE/meetings "$(meeting m2 2026-03-01T00:30:00+01:00 2026-03-01T08:00:00-05:00)" &&
	grep "\"start\":\"2026-02-28T23:30:00Z\",\"end\":\"2026-03-01T13:00:00Z\"" out
'

test_expect_success 'ae: a lower-case t and z are RFC 3339 (5.6) and taken' '
	expect_code 2.01 post $AE/meetings "$(meeting m3 2026-11-27t13:00:00z 2026-11-27t14:00:00.5Z)" &&
	grep "\"start\":\"2026-11-27T13:00:00Z\",\"end\":\"2026-11-27T14:00:00.500Z\"" out
'

test_expect_success 'ae: seconds :60 are 4.00 at any minute (no leap seconds: POSIX time)' '
	n=$(meetings) &&
	expect_code 4.00 post $AE/meetings "$(meeting m4 2026-11-27T13:05:60Z 2026-11-27T14:00:00Z)" &&
	grep "field .start. must be an RFC 3339 time" out &&
	expect_code 4.00 post $AE/meetings "$(meeting m4 2026-11-27T13:00:00Z 2016-12-31T23:59:60Z)" &&
	expect_code 4.00 post $AE/meetings "$(meeting m4 2026-11-27T13:00:00Z 2026-12-31T23:59:60Z)" &&
	test "$(meetings)" = "$n"
'

test_expect_success 'ae: a sign inside a field (2026-+3-01) is 4.00' '
	expect_code 4.00 post $AE/meetings "$(meeting m4 2026-+3-01T00:00:00Z 2026-04-01T00:00:00Z)" &&
	expect_code 4.00 post $AE/meetings "$(meeting m4 2026-03-01T00:00:00Z 2026-04-+1T00:00:00Z)"
'

test_expect_success 'ids "." and ".." are 4.00 at ae, ug and mrs (one id rule)' '
	expect_code 4.00 post $AE/participants "{\"id\":\".\",\"name\":\"Dot\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" &&
	grep "may not be . or .." out &&
	expect_code 4.00 post $AE/participants "{\"id\":\"..\",\"name\":\"Dots\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" &&
	expect_code 4.00 post $AE/meetings "$(meeting .. 2026-01-01T00:00:00Z 2026-01-02T00:00:00Z)" &&
	expect_code 4.00 post $AE/meetings "$(meeting m5 2026-01-01T00:00:00Z 2026-01-02T00:00:00Z ",\"participants\":[\".\"]")" &&
	expect_code 4.00 post $UG/guide "{\"participant\":\"..\",\"room\":\"R1\"}" &&
	grep "may not be . or .." out &&
	expect_code 4.00 post $MRS/present "{\"participant\":\".\",\"meeting\":\"m1\"}" &&
	expect_code 4.00 post $MRS/present "{\"participant\":\"bob\",\"meeting\":\"..\"}" &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM participants")" = 0 &&
	nano coap get $UG/guide | grep "\"active\":\\[\\]" &&
	expect_code 2.01 post $AE/participants "{\"id\":\"...\",\"name\":\"Three dots\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" &&
	expect_code 2.05 get $AE/participants/...
'

test_expect_success 'ug: ids with a space, ? or % are 4.00 (one id rule), so no DELETE misses them' '
	for id in "a b" "a?b" "a%b" "a%20b" "a/b"; do
		expect_code 4.00 post $UG/guide "{\"participant\":\"$id\",\"room\":\"R1\"}" || return 1
	done &&
	nano coap get $UG/guide | grep "\"active\":\\[\\]" &&
	expect_code 2.01 post $UG/guide "{\"participant\":\"a\",\"room\":\"R1\"}" &&
	expect_code 4.00 delete "$UG/guide/a%3Fb" &&
	nano coap get $UG/guide/a | grep "\"participant\":\"a\"" &&
	expect_code 2.02 delete $UG/guide/a
'

test_expect_success 'ae: content with \u0000 is 4.00 saying so, nothing stored (never cut short)' '
	cat >nul.json <<-\EOF &&
	{"id":"m6","title":"T","room":"R1","start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z","content":"before\u0000after"}
	EOF
	n=$(meetings) &&
	expect_code 4.00 post $AE/meetings - <nul.json &&
	grep "holds .*u0000 (NUL)" out &&
	test "$(meetings)" = "$n" &&
	expect_code 4.04 get $AE/meetings/m6/content
'

test_expect_success 'ae: exactly 1 MiB of content is taken however its JSON is escaped (6 bytes a byte)' '
	/usr/bin/python3 - <<-\EOF &&
	import json
	def meeting(i, content):
	    return {"id": i, "title": "T", "room": "R1", "start": "2026-01-01T00:00:00Z",
	            "end": "2026-01-02T00:00:00Z", "content": content}
	# Go writes < as \u003c: six bytes of JSON for one of content
	open("go.json", "w").write(json.dumps(meeting("go", "<" * (1 << 20))).replace("<", "\\u003c"))
	# Python writes non-ASCII as \u00e9: three bytes for one
	open("py.json", "w").write(json.dumps(meeting("py", "\u00e9" * (1 << 19))))
	open("over.json", "w").write(json.dumps(meeting("over", "\u00e9" * (1 << 19) + "x")))
	EOF
	test "$(wc -c <go.json)" -gt 6291456 &&
	expect_code 2.01 post $AE/meetings - <go.json &&
	grep "\"content_bytes\":1048576" out &&
	expect_code 2.01 post $AE/meetings - <py.json &&
	grep "\"content_bytes\":1048576" out &&
	nano coap get $AE/meetings/py/content >got &&
	test "$(wc -c <got)" = 1048576 &&
	expect_code 4.13 post $AE/meetings - <over.json &&
	grep "content of 1048577 bytes exceeds the limit of 1048576" out
'

test_expect_success 'a duration is at most a year after its unit: ae --early 8761h is exit 2' '
	# (timeout: an ae that took it would serve until stopped)
	test_expect_code 2 timeout 10 "$NANO" ae --db $TMP/other.db --backup-dir $TMP/bk2 \
		--listen $NET.2:5683 --early 8761h 2>err &&
	grep "early" err &&
	test_expect_code 2 timeout 10 "$NANO" ae --db $TMP/other.db --backup-dir $TMP/bk2 \
		--listen $NET.2:5683 --early 366d 2>err &&
	! test -e other.db
'

test_expect_success 'bs: bad --location, --rssi-min or --forget exit 2 before the port is bound' '
	for bad in "--location R#1" "--rssi-min -200" "--rssi-min x" "--forget 10ms" "--forget 8761h"; do
		# the port is ae s own: a bs that bound first would fail with exit 1
		test_expect_code 2 timeout 10 "$NANO" bs --listen $NET.1:5683 --adapter sim $bad >out 2>&1 &&
		! grep -q "started" out &&
		! grep -q "already in use" out || { echo "$bad:"; cat out; return 1; }
	done
'

test_expect_success 'the roles stop cleanly' '
	stop_cleanly ae ug mrs
'

test_done
