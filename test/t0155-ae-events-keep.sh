#!/bin/sh
# --events-keep: the event log is trimmed as it is written.  A flood of
# /auth with 40 unknown addresses a request keeps at most the bound in the
# table and the database small, ae keeps answering, its memory stays put;
# an age form trims by time; a restart with a lower bound trims the
# backlog; ids keep growing through it all.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
KEEP=2000
# The flood writes at least FLOOD events (50 times the bound; unbounded,
# about 7.5 MB of database) before it stops.
FLOOD=100000
# 2000 rows are about 150 KB; the -wal is reused every ~4 MB and cut
# back to 8 MiB (journal_size_limit).
DB_MAX_KB=1024
WAL_MAX_KB=8448
# ae's RSS is ~3.5 MB here, flood or not; a sanitizer build (make check)
# keeps shadow memory and a quarantine of freed blocks, qemu-user (the Pi
# builds) its own memory.
if file -L "$NANO" | grep -q "statically linked"; then RSS_MAX_KB=$(rss_max 16384); else RSS_MAX_KB=524288; fi

count() { sqlite3 ae.db "SELECT count(*) FROM events"; }
ids() { sqlite3 ae.db "SELECT group_concat(id, ' ') FROM (SELECT id FROM events ORDER BY id)"; }
kb() { if test -f "$1"; then echo $(( $(wc -c <"$1") / 1024 )); else echo 0; fi; }
# addrs K N: N unknown addresses, distinct for writer K
addrs() {
	j=0 sep=
	while [ $j -lt $2 ]; do
		printf '%s"02:00:00:00:%02X:%02X"' "$sep" $1 $j
		sep=, j=$((j + 1))
	done
}
start_ae() {
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}

test_expect_success '--events-keep is a row count or an age; anything else is exit 2' '
	nano ae --help >out &&
	grep -- "--events-keep V .*\[100000\]" out &&
	for v in 0 -1 abc 12x 1.5d 0d 3651d 0s 1000000001 99999999999999999999 ""; do
		test_expect_code 2 nano ae --db x.db --events-keep "$v" --listen $NET.1:5683 2>err &&
		grep -q "events-keep must be a row count" err || { echo "accepted: $v"; return 1; }
	done &&
	! test -e x.db
'

test_expect_success 'setup: ae with --events-keep 2000' '
	start_ae --events-keep $KEEP &&
	grep "events_keep=$KEEP " ae.log
'

test_expect_success 'one /auth writes at most 64 events: 64 addresses are 64 rows, 65 are 4.00 and none' '
	nano coap post $AE/auth "{\"ble\":[$(addrs 255 64)],\"location\":\"entrance\"}" >out &&
	test "$(grep -o "\"02:00" out | wc -l)" = 64 &&
	test "$(count)" = 64 &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"ble\":[$(addrs 254 65)],\"location\":\"entrance\"}" >out 2>err &&
	grep "^4.00" err && grep "more than 64" out &&
	test "$(count)" = 64
'

cat >writer.sh <<'EOF'
while [ ! -e stop ]; do
	"$NANO" coap -t 2 post "$AE/auth" "$1" >/dev/null 2>&1
done
EOF
cat >sampler.sh <<'EOF'
while [ ! -e stop ]; do
	n=$(sqlite3 ae.db "SELECT count(*) FROM events" 2>/dev/null) && echo "$n" >>counts
	echo $(( $(wc -c <ae.db) / 1024 )) $(( $( (cat ae.db-wal 2>/dev/null || :) | wc -c) / 1024 )) >>sizes
	sleep 0.1
done
EOF

test_expect_success "a flood of $FLOOD events (40 unknown addresses a request) keeps $KEEP rows" '
	rss0=$(stat_of $AE rss_kb) && say "rss before the flood: $rss0 kB" &&
	first0=$(stat_of $AE last_event) &&
	for k in 1 2 3; do
		start_bg w$k env AE=$AE sh writer.sh "{\"ble\":[$(addrs $k 40)],\"location\":\"entrance\"}"
	done &&
	start_bg sampler sh sampler.sh &&
	wait_until "test \$(stat_of $AE last_event) -ge $((first0 + FLOOD))" 4800 &&
	touch stop &&
	for k in 1 2 3; do stop_bg w$k; done &&
	stop_bg sampler &&
	say "events written: $(( $(stat_of $AE last_event) - first0 )), samples: $(wc -l <counts)" &&
	say "largest count seen: $(sort -n counts | tail -1), db and wal kB: $(sort -n sizes | tail -1)" &&
	test "$(sort -n counts | tail -1)" -le $KEEP &&
	test "$(count)" = $KEEP &&
	last=$(stat_of $AE last_event) &&
	test "$(stat_of $AE first_event)" = $((last - KEEP + 1)) &&
	test "$(ids | cut -d" " -f1)" = $((last - KEEP + 1)) &&
	test "$(ids | tr " " "\n" | tail -1)" = $last &&
	test "$(stat_of $AE events_pruned)" -ge $((FLOOD + 64 - KEEP))
'

test_expect_success "the database stays under $DB_MAX_KB kB and its -wal under $WAL_MAX_KB kB" '
	test -s sizes &&
	while read db wal; do
		test "$db" -lt $DB_MAX_KB && test "$wal" -lt $WAL_MAX_KB || { echo "db=$db wal=$wal"; return 1; }
	done <sizes &&
	test "$(kb ae.db)" -lt $DB_MAX_KB &&
	test "$(kb ae.db-wal)" -lt $WAL_MAX_KB &&
	test "$(sqlite3 ae.db "PRAGMA freelist_count")" -lt 16
'

test_expect_success "ae still answers, its RSS under $RSS_MAX_KB kB" '
	nano coap get $AE/health | grep "\"db\":\"ok\"" &&
	rss=$(stat_of $AE rss_kb) && say "rss after the flood: $rss kB" &&
	test "$rss" -lt $RSS_MAX_KB &&
	nano coap post $AE/auth "{\"ble\":[\"02:00:00:00:00:01\"],\"location\":\"entrance\"}" | grep "\"denied\":\[\"02:00:00:00:00:01\"\]"
'

test_expect_success 'GET /events starts at the oldest kept row and pages on' '
	first=$(stat_of $AE first_event) &&
	nano coap get "$AE/events?limit=2" >out &&
	grep "^{\"events\":\[{\"id\":$first," out &&
	grep "\"next\":$((first + 1)),\"more\":true" out &&
	nano coap get "$AE/events?since=5&limit=1" | grep "^{\"events\":\[{\"id\":$first,"
'

test_expect_success 'a restart with a lower bound trims the backlog before serving' '
	last=$(stat_of $AE last_event) &&
	stop_bg ae &&
	test "$ae_status" = 0 &&
	start_ae --events-keep 100 &&
	grep "events_pruned=[0-9]* ms=[0-9]* (--events-keep)" ae.log &&
	test "$(count)" = 100 &&
	# the backup written at SIGTERM was one more event
	test "$(sqlite3 ae.db "SELECT max(id) FROM events")" = $((last + 1))
'

test_expect_success 'an age: rows older than --events-keep 2s go with the next write' '
	stop_bg ae &&
	start_ae --events-keep 2s &&
	grep "events_keep=2s " ae.log &&
	nano coap post $AE/auth "{\"ble\":[$(addrs 9 10)],\"location\":\"entrance\"}" >/dev/null &&
	test "$(count)" -ge 10 &&
	top=$(stat_of $AE last_event) &&
	sleep 2.5 &&
	nano coap post $AE/auth "{\"ble\":[$(addrs 8 3)],\"location\":\"entrance\"}" >/dev/null &&
	test "$(ids)" = "$((top + 1)) $((top + 2)) $((top + 3))"
'

test_expect_success 'a restart after the age passed keeps only the newest row; ids go on' '
	stop_bg ae &&
	sleep 2.5 &&
	top=$(sqlite3 ae.db "SELECT max(id) FROM events") &&
	start_ae --events-keep 2s &&
	test "$(ids)" = "$top" &&
	nano coap post $AE/participants "{\"id\":\"ann\",\"name\":\"Ann\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" >/dev/null &&
	test "$(ids)" = $((top + 1))
'

test_expect_success 'ae stops cleanly' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error|op=events_prune" ae.log
'

test_done
