#!/bin/sh
# --seed FILE.json loads participants and meetings, upserted by id: the
# paper's meeting, loaded twice without change, updated in place, and a
# bad seed that loads nothing and stops the start.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
S=$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)
E=$(date -u -d '+55 min' +%Y-%m-%dT%H:%M:%SZ)

data() { sqlite3 ae.db "SELECT * FROM participants; SELECT id, title, room, building, organizer, start_ms, end_ms, content_format, hex(content) FROM meetings; SELECT * FROM invitations ORDER BY 1, 2"; }

cat >seed.json <<EOF
{
  "participants": [
    {"id": "alice", "name": "Alice", "ble": "AA:BB:CC:DD:EE:01"},
    {"id": "bob",   "name": "Bob",   "ble": "AA:BB:CC:DD:EE:02"},
    {"id": "carl",  "name": "Carl",  "ble": "aa:bb:cc:dd:ee:03"},
    {"id": "david", "name": "David", "ble": "AA:BB:CC:DD:EE:04"}
  ],
  "meetings": [
    {"id": "kickoff", "title": "Project kickoff", "room": "R1", "organizer": "alice",
     "start": "$S", "end": "$E", "participants": ["bob", "carl", "david"],
     "content": "# Kickoff\n\n1. Welcome\n2. Plan\n"}
  ]
}
EOF

start_ae() {
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}

test_expect_success 'the paper meeting from a seed: four admitted, a stranger denied' '
	start_ae --seed seed.json &&
	grep "seed=seed.json participants=4 meetings=1 loaded" ae.log &&
	nano coap post $AE/auth "{\"ble\":[\"AA:BB:CC:DD:EE:01\",\"AA:BB:CC:DD:EE:02\",\"AA:BB:CC:DD:EE:03\",\"AA:BB:CC:DD:EE:04\",\"66:55:44:33:22:11\"],\"location\":\"entrance\"}" >out &&
	for p in alice bob carl david; do grep -q "\"participant\":\"$p\"" out || return 1; done &&
	grep "\"denied\":\\[\"66:55:44:33:22:11\"\\]" out &&
	test "$(nano coap get $AE/meetings/kickoff/content)" = "$(printf "# Kickoff\n\n1. Welcome\n2. Plan\n")"
'

test_expect_success 'the same seed again changes no data' '
	data >before &&
	nano coap post $AE/participants "{\"id\":\"erin\",\"name\":\"Erin\",\"ble\":\"AA:BB:CC:DD:EE:05\"}" &&
	stop_bg ae &&
	start_ae --seed seed.json &&
	data >after &&
	grep -v "^erin|" after >after.seeded &&
	test_cmp before after.seeded &&
	grep "^erin|Erin|AA:BB:CC:DD:EE:05|$" after
'

test_expect_success 'a changed seed updates in place (upsert by id)' '
	sed -e "s/\"Bob\"/\"Robert\"/" -e "s/\"bob\", \"carl\", \"david\"/\"bob\", \"david\"/" seed.json >seed2.json &&
	stop_bg ae &&
	start_ae --seed seed2.json &&
	nano coap get $AE/participants/bob | grep "\"name\":\"Robert\"" &&
	nano coap get $AE/meetings/kickoff | grep "\"participants\":\\[\"alice\",\"bob\",\"david\"\\]" &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM participants")" = 5
'

test_expect_success 'a bad seed stops the start (exit 1) and loads nothing' '
	stop_bg ae &&
	data >before &&
	cat >bad.json <<-EOF &&
	{"participants": [{"id": "zed", "name": "Zed", "ble": "AA:BB:CC:DD:EE:26"}],
	 "meetings": [{"id": "m9", "title": "T", "room": "R", "start": "$S", "end": "$E", "participants": ["nobody"]}]}
	EOF
	test_expect_code 1 "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 --seed bad.json 2>err &&
	grep "meetings\\[0\\]: unknown participant .nobody." err &&
	data >after && test_cmp before after
'

test_expect_success 'other bad seeds: malformed, wrong shape, duplicate address, missing file' '
	data >before &&
	printf "{\"participants\": [" >broken.json &&
	printf "{\"participants\": {}}" >shape.json &&
	printf "{\"participants\": [42]}" >item.json &&
	printf "{\"participants\": [{\"id\": \"x\", \"name\": \"X\", \"ble\": \"AA:BB:CC:DD:EE:01\"}]}" >dup.json &&
	for f in broken.json shape.json item.json dup.json missing.json; do
		test_expect_code 1 "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 --seed $f 2>err &&
		grep -q "seed=$f" err || { echo "$f"; cat err; return 1; }
	done &&
	test_expect_code 1 "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 --seed dup.json 2>err &&
	grep "participants\\[0\\]: BLE address AA:BB:CC:DD:EE:01 belongs to participant .alice." err &&
	data >after && test_cmp before after
'

test_expect_success 'NANO_SEED works like --seed' '
	rm -f ae.db ae.db-wal ae.db-shm &&
	rm -rf bk &&
	start_bg ae env NANO_SEED=$TMP/seed.json "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM participants")" = 4 &&
	stop_bg ae && test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
