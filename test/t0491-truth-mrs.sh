#!/bin/sh
# The room's display follows ae's current data, never a stale copy: a
# meeting deleted and posted again while shown shows its new title,
# content and end; it is cleared at its new end; a deleted meeting clears
# the display; a later arrival is shown ae's copy of now; an attendee no
# longer invited leaves the screen.  And mrs takes every id ae takes.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

MRS1=coap://$NET.10         # R1: --refresh 2s
MRS2=coap://$NET.11         # R2: --refresh 1h, only arrivals read ae again

# meeting ID ROOM TITLE CONTENT END_MINUTES INVITEES: POST it to ae
meeting() {
	nano coap post $AE/meetings "{\"id\":\"$1\",\"title\":\"$3\",\"room\":\"$2\",\"organizer\":\"alice\",\"start\":\"$(when -5)\",\"end\":\"$(when "$5")\",\"participants\":[$6],\"content\":\"$4\"}" >/dev/null
}
# repost ...: the same meeting deleted and posted again (ae's way to change one)
repost() {
	nano coap delete "$AE/meetings/$1" >/dev/null && meeting "$@"
}
# shows URI KEY VALUE: the display at URI has KEY = VALUE
shows() {
	"$NANO" coap get "$1/display" >"$TMP/.d" &&
	test "$(pyjson "$TMP/.d" "d['$2']")" = "$3"
}
attendees() {
	"$NANO" coap get "$1/display" >"$TMP/.d" &&
	pyjson "$TMP/.d" "' '.join(a['participant'] for a in d['attendees'])"
}
# present URI PARTICIPANT MEETING: POST /present, its answer in out, its code in code
present() {
	"$NANO" coap -v post "$1/present" "{\"participant\":\"$2\",\"meeting\":\"$3\"}" >out 2>code
	head -n 1 code
}

test_expect_success 'setup: ae, mrs in R1 (--refresh 2s) and in R2 (--refresh 1h)' '
	cat >"$TMP/seed.json" <<-EOF &&
	{"participants":[
	 {"id":"alice","name":"Alice","ble":"AA:BB:CC:DD:EE:01"},
	 {"id":"bob","name":"Bob","ble":"AA:BB:CC:DD:EE:02"},
	 {"id":"carl","name":"Carl","ble":"AA:BB:CC:DD:EE:03"},
	 {"id":"o'"'"'brien","name":"O Brien","ble":"AA:BB:CC:DD:EE:04"}]}
	EOF
	start_ae &&
	# (NANO_REFRESH: an mrs without --refresh starts too, and fails below)
	start_bg mrs1 env NANO_REFRESH=2s "$NANO" mrs --listen $NET.10:5683 --room R1 --ae $AE &&
	start_bg mrs2 env NANO_REFRESH=1h "$NANO" mrs --listen $NET.11:5683 --room R2 --ae $AE &&
	for h in 1 10 11; do wait_for_health coap://$NET.$h || return 1; done &&
	meeting m1 R1 Kickoff "first agenda" 60 "\"bob\",\"carl\"" &&
	meeting m2 R2 Review "old notes" 60 "\"bob\""
'

test_expect_success 'a meeting deleted and posted again while shown: the display shows ae s new title, content and end' '
	test "$(present $MRS1 alice m1)" = 2.04 &&
	wait_until "shows $MRS1 content \"first agenda\"" 60 &&
	end1=$(when 30) &&
	repost m1 R1 Retro "second agenda" 30 "\"bob\",\"carl\"" &&
	end2=$(when 30) &&
	wait_until "shows $MRS1 title Retro" 100 &&
	shows $MRS1 content "second agenda" &&
	{ shows $MRS1 end "$end1" || shows $MRS1 end "$end2"; } &&
	test "$(attendees $MRS1)" = alice &&
	grep "meeting=m1 changed at ae; display updated" mrs1.log
'

test_expect_success 'a later arrival joins ae s copy of now, never a stale one (read again on arrival)' '
	test "$(present $MRS2 bob m2)" = 2.04 &&
	wait_until "shows $MRS2 content \"old notes\"" 60 &&
	end1=$(when 45) &&
	repost m2 R2 Review "new notes" 45 "\"bob\",\"carl\"" &&
	end2=$(when 45) &&
	test "$(present $MRS2 carl m2)" = 2.04 &&
	grep "\"status\":\"shown\"" out &&
	shows $MRS2 content "new notes" &&
	{ shows $MRS2 end "$end1" || shows $MRS2 end "$end2"; } &&
	test "$(attendees $MRS2)" = "bob carl"
'

test_expect_success 'a later arrival of a meeting deleted meanwhile is refused (4.04), and the screen cleared' '
	nano coap delete $AE/meetings/m2 >/dev/null &&
	test "$(present $MRS2 carl m2)" = 4.04 &&
	grep "no such meeting at ae" out &&
	shows $MRS2 meeting null &&
	grep "meeting=m2 no longer at ae; display cleared" mrs2.log
'

test_expect_success 'an attendee ae no longer has leaves the screen' '
	test "$(present $MRS1 carl m1)" = 2.04 &&
	wait_until "test \"\$(attendees $MRS1)\" = \"alice carl\"" 60 &&
	nano coap delete $AE/participants/carl >/dev/null &&
	wait_until "test \"\$(attendees $MRS1)\" = alice" 60 &&
	grep "meeting=m1 participant=carl no longer invited" mrs1.log &&
	test "$(present $MRS1 carl m1)" = 4.03
'

test_expect_success 'a meeting moved to an earlier end is cleared at its new end' '
	meeting m3 R1 Short "short agenda" 60 "\"bob\"" &&
	test "$(present $MRS1 bob m3)" = 2.04 &&
	wait_until "shows $MRS1 meeting m3" 60 &&
	nano coap delete $AE/meetings/m3 >/dev/null &&
	nano coap post $AE/meetings "{\"id\":\"m3\",\"title\":\"Short\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$(when -5)\",\"end\":\"$(date -u -d "3 sec" +%Y-%m-%dT%H:%M:%SZ)\",\"participants\":[\"bob\"],\"content\":\"short agenda\"}" >/dev/null &&
	wait_until "shows $MRS1 meeting null" 120 &&
	grep -E "meeting=m3 (ended|over)" mrs1.log
'

test_expect_success 'a meeting deleted while shown clears the display within --refresh' '
	test "$(present $MRS1 bob m1)" = 2.04 &&
	wait_until "shows $MRS1 meeting m1" 60 &&
	nano coap delete $AE/meetings/m1 >/dev/null &&
	wait_until "shows $MRS1 meeting null" 100 &&
	grep "meeting=m1 no longer at ae; display cleared" mrs1.log
'

test_expect_success 'ids ae takes are taken by mrs too: o'"'"'brien in meeting 2026-12-01T10:00~R2' '
	cat >m.json <<-EOF &&
	{"id":"2026-12-01T10:00~R2","title":"Quote","room":"R2","organizer":"o'"'"'brien","start":"$(when -5)","end":"$(when 60)","content":"odd ids"}
	EOF
	nano coap post $AE/meetings - <m.json >/dev/null &&
	nano coap -v post $MRS2/present - >out 2>code <<-\EOF &&
	{"participant":"o'"'"'brien","meeting":"2026-12-01T10:00~R2"}
	EOF
	grep "^2.04" code &&
	wait_until "shows $MRS2 meeting 2026-12-01T10:00~R2" 60 &&
	test "$(attendees $MRS2)" = "o'"'"'brien"
'

test_expect_success 'mrs stops cleanly' '
	stop_cleanly mrs1 mrs2 ae
'

test_done
