#!/bin/sh
# Backups (paper Fig. 4): POST /backup and SIGTERM write a verified
# online backup, the newest N are kept; a start with a missing or corrupt
# database restores the newest valid backup and says so loudly.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1

# Backups one after another here: no --backup-interval (t0185 tests it).
start_ae() {
	start_bg ae "$NANO" ae --db $TMP/data/ae.db --backup-dir $TMP/bk --backup-interval 0 \
		--listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}
person() {
	nano coap post $AE/participants "{\"id\":\"$1\",\"name\":\"$1\",\"ble\":\"$2\"}" >/dev/null
}
newest() { ls bk/ae-*.db | tail -1; }
participants() { sqlite3 "$1" "SELECT group_concat(id, ' ') FROM (SELECT id FROM participants ORDER BY id)"; }

test_expect_success 'setup: ae with two participants' '
	start_ae --backup-keep 3 &&
	person alice AA:BB:CC:DD:EE:01 &&
	person bob AA:BB:CC:DD:EE:02
'

test_expect_success 'POST /backup is 2.01 naming a verified, self-contained copy' '
	nano coap -v post $AE/backup >out 2>err &&
	grep "^2.01" err &&
	name=$(grep -o "\"file\":\"[^\"]*\"" out | cut -d\" -f4) &&
	echo "$name" | grep -E "^ae-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.db$" &&
	test -f "bk/$name" &&
	grep "\"path\":\"$TMP/bk/$name\"" out &&
	grep "\"bytes\":$(wc -c <"bk/$name")}" out &&
	test "$(sqlite3 "bk/$name" "PRAGMA integrity_check")" = ok &&
	test "$(sqlite3 "bk/$name" "PRAGMA journal_mode")" = delete &&
	test "$(participants "bk/$name")" = "alice bob" &&
	! ls bk/.*.tmp 2>/dev/null &&
	grep "backup=$TMP/bk/$name bytes=[0-9]* ms=[0-9]* integrity=ok" ae.log
'

test_expect_success 'a backup is an event, and /stats names the last one' '
	test "$(sqlite3 data/ae.db "SELECT detail FROM events WHERE kind = '"'"'backup'"'"'")" = "$(basename $(newest))" &&
	nano coap get $AE/stats | grep "\"last_backup\":\"$TMP/$(newest)\""
'

test_expect_success '--backup-keep 3 keeps the newest three' '
	for i in 1 2 3 4; do nano coap post $AE/backup >>names || return 1; done &&
	test "$(ls bk | grep -c "^ae-")" = 3 &&
	grep -o "\"file\":\"[^\"]*\"" names | cut -d\" -f4 | tail -3 >expect &&
	ls bk | grep "^ae-" >got && test_cmp expect got
'

test_expect_success COAP_CLIENT 'coap-client can ask for a backup too' '
	coap-client-notls -B 5 -m post $AE/backup >out &&
	grep "\"file\":\"ae-" out
'

test_expect_success 'SIGTERM: the last write is in a verified backup, exit 0' '
	person carl AA:BB:CC:DD:EE:03 &&
	stop_bg ae &&
	test "$ae_status" = 0 &&
	grep "signal=15 stopping" ae.log &&
	grep "backup=$TMP/bk/ae-.*written before exit" ae.log &&
	test "$(sqlite3 "$(newest)" "PRAGMA integrity_check")" = ok &&
	test "$(participants "$(newest)")" = "alice bob carl" &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_expect_success 'the database deleted: the SIGTERM backup is restored, loudly, and served' '
	rm data/ae.db &&
	! test -e data/ae.db-wal &&
	start_ae --backup-keep 3 &&
	grep " warn ae db=$TMP/data/ae.db RESTORED from backup=$TMP/$(newest) because the database was missing" ae.log &&
	nano coap get $AE/participants/carl | grep "\"id\":\"carl\"" &&
	test "$(participants data/ae.db)" = "alice bob carl" &&
	test "$(sqlite3 data/ae.db "SELECT detail FROM events WHERE kind = '"'"'restore'"'"'")" = "$TMP/$(newest)" &&
	test "$(sqlite3 data/ae.db "PRAGMA journal_mode")" = wal &&
	person dave AA:BB:CC:DD:EE:04
'

test_expect_success 'an empty database file counts as missing' '
	stop_bg ae &&
	: >data/ae.db &&
	start_ae &&
	grep "RESTORED from backup=.* because the database was missing" ae.log &&
	test "$(participants data/ae.db)" = "alice bob carl dave" &&
	ls data/ae.db.orphan-*
'

test_expect_success 'a corrupt database: moved aside, the newest valid backup restored' '
	stop_bg ae &&
	head -c 8192 /dev/urandom >data/ae.db &&
	cp data/ae.db corrupt.copy &&
	start_ae &&
	grep " error ae db=$TMP/data/ae.db is corrupt" ae.log &&
	grep " warn ae db=.*RESTORED from backup=.* because the database was corrupt" ae.log &&
	test "$(participants data/ae.db)" = "alice bob carl dave" &&
	cmp corrupt.copy data/ae.db.corrupt-* &&
	nano coap get $AE/health | grep "\"db\":\"ok\""
'

test_expect_success 'a damaged newest backup is skipped for an older valid one' '
	stop_bg ae &&
	good=$(newest) &&
	cp "$good" bk/ae-29991231T235959.999Z.db &&
	printf "garbage" | dd of=bk/ae-29991231T235959.999Z.db bs=1 seek=100 conv=notrunc 2>/dev/null &&
	head -c 4096 /dev/zero | dd of=bk/ae-29991231T235959.999Z.db bs=1 seek=1024 conv=notrunc 2>/dev/null &&
	rm data/ae.db &&
	start_ae &&
	grep "backup=$TMP/bk/ae-29991231T235959.999Z.db skipped: not valid" ae.log &&
	grep "RESTORED from backup=$TMP/$good" ae.log &&
	rm bk/ae-29991231T235959.999Z.db
'

test_expect_success 'corrupt and no valid backup: refuse to start, touch nothing' '
	stop_bg ae &&
	head -c 8192 /dev/urandom >data/ae.db &&
	cp data/ae.db corrupt.copy &&
	test_expect_code 1 "$NANO" ae --db $TMP/data/ae.db --backup-dir $TMP/empty --listen $NET.1:5683 2>err &&
	grep "corrupt and no valid backup in $TMP/empty; refusing to start" err &&
	cmp corrupt.copy data/ae.db
'

test_expect_success 'a backup directory that cannot be made: POST /backup is 5.00, SIGTERM exit 1' '
	rm -f data/ae.db* &&
	echo file >notadir &&
	start_bg ae "$NANO" ae --db $TMP/data/ae.db --backup-dir $TMP/notadir/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	test_expect_code 1 nano coap -v post $AE/backup >out 2>err &&
	grep "^5.00" err && grep "\"error\":\"cannot create the backup directory\"" out &&
	stop_bg ae &&
	test "$ae_status" = 1 &&
	grep "backup before exit failed" ae.log
'

test_done
