#!/bin/sh
# ae resolves a phone's resolvable private address with the IRK stored for
# its participant (Bluetooth Core Vol 3 Part H 2.2.2; the specification's
# vector: IRK ec0234a357c8ad05341010a60a397d9b makes 70:81:94:0D:FB:AA),
# names the participant in /auth and says "resolved":"irk"; a static
# address, a wrong IRK or another phone's address never resolve.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

IRK=ec0234a357c8ad05341010a60a397d9b
RPA=70:81:94:0D:FB:AA

auth() {
	nano coap post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"$1\"]}"
}

test_expect_success 'setup: ae with the paper'"'"'s meeting; gina'"'"'s phone enrolled by its IRK' '
	seed_paper &&
	/usr/bin/python3 - "$TMP/seed.json" <<-\EOF &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	d["participants"].append({"id": "gina", "name": "Gina", "ble": "AA:BB:CC:DD:EE:07",
	                          "irk": "EC:02:34:A3:57:C8:AD:05:34:10:10:A6:0A:39:7D:9B"})
	d["meetings"][0]["participants"].append("gina")
	json.dump(d, open(sys.argv[1], "w"))
	EOF
	start_ae &&
	wait_for_health $AE
'

test_expect_success 'her RPA is granted, named, and marked resolved by IRK' '
	auth $RPA >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	test "$(pyjson out "d[\"granted\"][0][\"resolved\"]")" = irk &&
	test "$(pyjson out "d[\"granted\"][0][\"ble\"]")" = $RPA &&
	nano coap get $AE/stats >st &&
	test "$(pyjson st "d[\"rpa_scans\"]")" = 1 &&
	test "$(pyjson st "d[\"rpa_resolved\"]")" = 1
'

test_expect_success 'the same address again is a cache hit, not another scan' '
	auth $RPA >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	nano coap get $AE/stats >st &&
	test "$(pyjson st "d[\"rpa_scans\"]")" = 1 &&
	test "$(pyjson st "d[\"rpa_cache_hits\"]")" = 1
'

test_expect_success 'a static address with the same low bits, and a changed hash, are unknown' '
	auth F0:81:94:0D:FB:AA >out &&
	test "$(pyjson out "d[\"denied\"]")" = "[\"F0:81:94:0D:FB:AA\"]" &&
	auth 70:81:94:0D:FB:AB >out &&
	test "$(pyjson out "d[\"denied\"]")" = "[\"70:81:94:0D:FB:AB\"]"
'

test_expect_success 'another IRK (her phone re-paired) no longer resolves the old address' '
	nano coap put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"irk\":\"00112233445566778899aabbccddeeff\"}" &&
	auth $RPA >out &&
	test "$(pyjson out "d[\"denied\"]")" = "[\"$RPA\"]"
'

test_expect_success 'enrolment from BlueZ'"'"'s info file (nano irk) and as base64' '
	printf "[General]\nName=Gina phone\n\n[IdentityResolvingKey]\nKey=9B7D390AA610103405ADC857A33402EC\n" >info &&
	irk=$(nano irk info) &&
	test "$irk" = $IRK &&
	nano coap put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"irk\":\"$irk\"}" &&
	auth $RPA >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	nano coap put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"irk\":\"00112233445566778899aabbccddeeff\"}" &&
	auth $RPA >out && test "$(pyjson out "d[\"denied\"]")" = "[\"$RPA\"]" &&
	nano coap put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"irk\":\"m305CqYQEDQFrchXozQC7A==\"}" &&
	auth $RPA >out &&
	test "$(pyjson out "d[\"granted\"][0][\"resolved\"]")" = irk
'

test_expect_success 'an IRK that is not 32 hex digits is 4.00' '
	test_expect_code 1 nano coap -v put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"irk\":\"ec0234\"}" 2>err &&
	grep 4.00 err
'

SQ="'"
BADGE=E2C56DB5-DFFB-48D2-B060-D0F5A71096E0
IRK2=00112233445566778899aabbccddeeff
RPA2=$(nano irk --rpa $IRK2 4a:11:22)

test_expect_success 'setup: gina also has a watch (a second address), a second phone (IRK) and a badge' '
	test "$RPA2" != "" &&
	nano coap put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"irk\":\"$IRK\",\"identities\":[{\"ble\":\"aa:bb:cc:dd:ee:70\"},{\"irk\":\"$IRK2\"},{\"ibeacon\":{\"uuid\":\"$BADGE\",\"major\":1,\"minor\":7}}]}" &&
	nano coap get $AE/participants/gina >p &&
	test "$(pyjson p "d[\"identities\"]")" = "[{\"ble\": \"AA:BB:CC:DD:EE:70\"}, {\"ibeacon\": \"$BADGE/1/7\"}]" &&
	test "$(pyjson p "d[\"more_irks\"]")" = 1 &&
	test "$(pyjson p "d[\"irk\"]")" = true &&
	! grep -i 0011223344 p
'

test_expect_success 'each of her identities is granted as gina' '
	auth AA:BB:CC:DD:EE:70 >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	test "$(pyjson out "d[\"granted\"][0].get(\"resolved\")")" = null &&
	auth $RPA >out &&
	test "$(pyjson out "d[\"granted\"][0][\"resolved\"]")" = irk &&
	auth $RPA2 >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	test "$(pyjson out "d[\"granted\"][0][\"resolved\"]")" = irk
'

test_expect_success 'a badge is known by its beacon, whatever address it sends from' '
	nano coap post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"C1:00:00:00:00:01\",\"C1:00:00:00:00:02\"],\"ibeacons\":{\"c1:00:00:00:00:01\":\"$BADGE/1/7\",\"C1:00:00:00:00:02\":{\"uuid\":\"$BADGE\",\"major\":1,\"minor\":8}}}" >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	test "$(pyjson out "d[\"granted\"][0][\"resolved\"]")" = ibeacon &&
	test "$(pyjson out "d[\"granted\"][0][\"ble\"]")" = C1:00:00:00:00:01 &&
	test "$(pyjson out "d[\"denied\"]")" = "[\"C1:00:00:00:00:02\"]"
'

test_expect_success 'a malformed beacon in /auth is 4.00, not unknown' '
	test_expect_code 1 nano coap -v post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"C1:00:00:00:00:01\"],\"ibeacons\":{\"C1:00:00:00:00:01\":\"$BADGE/1/70000\"}}" >err 2>&1 &&
	grep 4.00 err && grep "major and minor" err &&
	test_expect_code 1 nano coap -v post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"C1:00:00:00:00:01\"],\"ibeacons\":{\"nope\":\"$BADGE/1/7\"}}" 2>err &&
	grep "4.00" err
'

test_expect_success 'an identity is one participant'"'"'s: the watch, the IRK and the badge cannot be hank'"'"'s too' '
	nano coap post $AE/participants "{\"id\":\"hank\",\"name\":\"Hank\",\"ble\":\"AA:BB:CC:DD:EE:08\"}" &&
	for id in "{\"ble\":\"AA:BB:CC:DD:EE:70\"}" "{\"irk\":\"$IRK2\"}" "{\"irk\":\"$IRK\"}" "{\"ibeacon\":\"$BADGE/1/7\"}"
	do
		test_expect_code 1 nano coap -v put $AE/participants/hank "{\"name\":\"Hank\",\"ble\":\"AA:BB:CC:DD:EE:08\",\"identities\":[$id]}" >err 2>&1 &&
		grep 4.09 err && grep "belongs to participant .gina." err || return 1
	done &&
	test_expect_code 1 nano coap -v put $AE/participants/hank "{\"name\":\"Hank\",\"ble\":\"AA:BB:CC:DD:EE:70\"}" 2>err &&
	grep 4.09 err &&
	test_expect_code 1 nano coap -v put $AE/participants/hank "{\"name\":\"Hank\",\"ble\":\"AA:BB:CC:DD:EE:08\",\"identities\":[{\"phone\":\"x\"}]}" >err 2>&1 &&
	grep 4.00 err && grep "not a kind of identity" err
'

test_expect_success 'a PUT without identities keeps them; with a list, replaces them; a delete frees them' '
	nano coap put $AE/participants/gina "{\"name\":\"Gina R.\",\"ble\":\"AA:BB:CC:DD:EE:07\"}" &&
	auth AA:BB:CC:DD:EE:70 >out &&
	test "$(pyjson out "d[\"granted\"][0][\"participant\"]")" = gina &&
	nano coap put $AE/participants/gina "{\"name\":\"Gina\",\"ble\":\"AA:BB:CC:DD:EE:07\",\"identities\":[]}" &&
	auth AA:BB:CC:DD:EE:70 >out &&
	test "$(pyjson out "d[\"denied\"]")" = "[\"AA:BB:CC:DD:EE:70\"]" &&
	auth $RPA2 >out &&
	test "$(pyjson out "d[\"denied\"]")" = "[\"$RPA2\"]" &&
	nano coap put $AE/participants/hank "{\"name\":\"Hank\",\"ble\":\"AA:BB:CC:DD:EE:08\",\"identities\":[{\"ble\":\"AA:BB:CC:DD:EE:70\"}]}"
'

test_expect_success 'a database of schema version 1 is migrated, its participants kept' '
	stop_bg ae &&
	rm -f "$TMP/ae.db" "$TMP/ae.db-wal" "$TMP/ae.db-shm" &&
	sqlite3 "$TMP/ae.db" "CREATE TABLE participants(id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, ble TEXT NOT NULL UNIQUE, irk BLOB) STRICT; CREATE TABLE meetings(id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, room TEXT NOT NULL, building TEXT, organizer TEXT REFERENCES participants(id), start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL CHECK (end_ms > start_ms), content_format INTEGER NOT NULL DEFAULT 0, content BLOB NOT NULL DEFAULT x${SQ}${SQ}) STRICT; CREATE TABLE invitations(participant TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE, meeting TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE, PRIMARY KEY (participant, meeting)) STRICT, WITHOUT ROWID; CREATE TABLE events(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, kind TEXT NOT NULL, location TEXT, ble TEXT, participant TEXT, meeting TEXT, decision TEXT, detail TEXT) STRICT; INSERT INTO participants VALUES (${SQ}ivy${SQ}, ${SQ}Ivy${SQ}, ${SQ}AA:BB:CC:DD:EE:09${SQ}, NULL); PRAGMA user_version = 1;" &&
	start_ae &&
	wait_for_health $AE &&
	nano coap get $AE/participants/ivy >p &&
	test "$(pyjson p "d.get(\"identities\")")" = null &&
	test "$(sqlite3 "$TMP/ae.db" "PRAGMA user_version")" = 2
'

test_done
