#!/bin/sh
# ae tells the truth about time and about its own log: a room's building
# is taken only from the meetings admitting now in it (a meeting for
# tomorrow, one that ended, or a mistyped building cannot change today's
# decision), and event ids only grow, across a restore from a backup too
# (a reader following since= sees every new event, the restore first).
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
Q="'"

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
person() {
	nano coap post $AE/participants "{\"id\":\"$1\",\"name\":\"$1\",\"ble\":\"$2\"}" >/dev/null
}
# meet ID ROOM START END BUILDING-OR-EMPTY INVITEES(JSON list body)
meet() {
	b=
	test -n "$5" && b=",\"building\":\"$5\""
	nano coap post $AE/meetings "{\"id\":\"$1\",\"title\":\"$1\",\"room\":\"$2\",\"start\":\"$(at "$3")\",\"end\":\"$(at "$4")\"$b,\"participants\":[$6]}" >/dev/null
}
auth() {
	nano coap post $AE/auth "{\"ble\":[\"$1\"],\"location\":\"$2\"}"
}
last_event() { sqlite3 data/ae.db "SELECT decision || '|' || coalesce(participant, '') || '|' || coalesce(meeting, '') || '|' || detail FROM events WHERE kind = 'auth' ORDER BY id DESC LIMIT 1"; }
start_ae() {
	start_bg ae "$NANO" ae --db $TMP/data/ae.db --backup-dir $TMP/bk --backup-interval 0 \
		--listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}
# events SINCE: GET /events?since=SINCE as "id kind" lines; next in $TMP/next
events() {
	nano coap get "$AE/events?since=$1&limit=1000" >ev.json &&
	/usr/bin/python3 -c 'import json, sys
d = json.load(open("ev.json"))
open("next", "w").write(str(d["next"]))
for e in d["events"]: print(e["id"], e["kind"])'
}

test_expect_success 'setup: p2 in meeting A, on now in R1 of building B1' '
	start_ae &&
	person p2 AA:BB:CC:DD:EE:02 &&
	person q AA:BB:CC:DD:EE:03 &&
	person r AA:BB:CC:DD:EE:04 &&
	meet A R1 "-10 min" "+50 min" B1 "\"p2\"" &&
	auth AA:BB:CC:DD:EE:02 R1 | grep "\"meeting\":\"A\",\"room\":\"R1\""
'

test_expect_success 'a meeting for tomorrow in R1 with another building does not change today s decision' '
	meet Z R1 "+1 day" "+1 day 1 hour" B2 "" &&
	auth AA:BB:CC:DD:EE:02 R1 >out &&
	grep "\"meeting\":\"A\",\"room\":\"R1\"" out
'

test_expect_success 'nor does one that ended, nor a mistyped building naming the room' '
	meet Y R1 "-3 hours" "-2 hours" B3 "" &&
	meet X R9 "+2 days" "+2 days 1 hour" R1 "" &&
	auth AA:BB:CC:DD:EE:02 R1 >out &&
	grep "\"meeting\":\"A\",\"room\":\"R1\"" out
'

test_expect_success 'the building of a room in use now still decides: another building is denied' '
	meet Q R5 "-10 min" "+50 min" B2 "\"q\"" &&
	auth AA:BB:CC:DD:EE:03 R1 >out &&
	grep "\"granted\":\\[\\]" out &&
	test "$(last_event)" = "denied|q||meeting ${Q}Q${Q} is in building ${Q}B2${Q}, not ${Q}B1${Q}" &&
	auth AA:BB:CC:DD:EE:03 B2 | grep "\"meeting\":\"Q\""
'

test_expect_success 'a room with nothing on now has no building: every building counts there' '
	meet W R7 "+1 day" "+1 day 1 hour" B1 "" &&
	auth AA:BB:CC:DD:EE:03 R7 | grep "\"meeting\":\"Q\",\"room\":\"R5\""
'

test_expect_success 'event ids: a reader follows the log up to the newest id' '
	nano coap post $AE/backup >/dev/null &&
	backup_last=$(sqlite3 "$(ls bk/ae-*.db | tail -1)" "SELECT max(id) FROM events") &&
	for i in 1 2 3 4 5; do auth AA:BB:CC:DD:EE:99 entrance >/dev/null || return 1; done &&
	events 0 >seen &&
	seen=$(cat next) &&
	test "$seen" -gt "$backup_last" &&
	say "backup holds events up to $backup_last, the reader saw up to $seen" &&
	echo "$seen" >seen_id
'

test_expect_success 'ae killed, database lost, restored from the backup: new ids are above every id seen' '
	seen=$(cat seen_id) &&
	stop_bg ae KILL &&
	rm -f data/ae.db data/ae.db-wal data/ae.db-shm &&
	start_ae &&
	grep "RESTORED from backup" ae.log &&
	grep "events [0-9]*\.\.$seen were given to readers and are not in this database; new events start at id $((seen + 1))" ae.log &&
	auth AA:BB:CC:DD:EE:99 entrance >/dev/null &&
	events "$seen" >new &&
	head -n 1 new | grep "^$((seen + 1)) restore$" &&
	sed -n 2p new | grep "^$((seen + 2)) auth$" &&
	test "$(sqlite3 data/ae.db "SELECT count(*) FROM events WHERE id > $(cat seen_id)")" = 2
'

test_expect_success 'a plain restart keeps counting, with no gap' '
	events 0 >all && seen=$(cat next) &&
	stop_bg ae &&
	start_ae &&
	auth AA:BB:CC:DD:EE:99 entrance >/dev/null &&
	events "$seen" >new &&
	test "$(cat new)" = "$((seen + 1)) backup
$((seen + 2)) auth" || { cat new; return 1; }
'

test_expect_success 'database and backups lost: a new database still continues above, with a gap event' '
	events 0 >all && seen=$(cat next) &&
	stop_bg ae KILL &&
	rm -f data/ae.db* bk/ae-*.db &&
	start_ae &&
	grep "new database" ae.log &&
	events "$seen" >new &&
	test "$(cat new)" = "$((seen + 1)) gap" &&
	nano coap get "$AE/events?since=$seen" | grep "\"detail\":\"events 1\.\.$seen are not in this database\""
'

test_expect_success 'ae stops cleanly' '
	stop_cleanly ae
'

test_done
