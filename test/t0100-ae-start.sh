#!/bin/sh
# nano ae starts: flags, the schema it creates, the common resources, and
# what it refuses (bad flags, a database from a newer nano).
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1

test_expect_success 'ae is an applet, by argument and by symlink' '
	nano --list | grep -x ae &&
	nano ae --help >out &&
	grep "usage: nano ae" out &&
	grep -- "--early" out && grep -- "--sync" out && grep -- "--backup-keep" out &&
	ln -s "$NANO" ae && ./ae --help | grep "usage: nano ae"
'

test_expect_success 'bad flags are usage errors (exit 2) with a message' '
	test_expect_code 2 nano ae --db x.db --sync sometimes --listen $NET.1:5683 2>err &&
	grep "sync must be normal or full" err &&
	test_expect_code 2 nano ae --db x.db --early soon --listen $NET.1:5683 2>err &&
	grep "early" err &&
	test_expect_code 2 nano ae --db x.db --backup-keep 0 --listen $NET.1:5683 2>err &&
	grep "backup-keep" err &&
	test_expect_code 2 nano ae --frob 2>err &&
	! test -e x.db
'

test_expect_success 'start with a new database (flags from NANO_* too)' '
	start_bg ae env NANO_BACKUP_DIR=$TMP/bk "$NANO" ae --db $TMP/data/ae.db --listen $NET.1:5683 &&
	wait_for_health $AE &&
	grep "new database" ae.log &&
	grep "backup_dir=$TMP/bk" ae.log
'

test_expect_success 'the schema: version 2, WAL, the five tables, strict' '
	test "$(sqlite3 data/ae.db "PRAGMA user_version")" = 2 &&
	test "$(sqlite3 data/ae.db "PRAGMA journal_mode")" = wal &&
	sqlite3 data/ae.db ".tables" >tables &&
	for t in participants meetings invitations events identities; do
		grep -w $t tables || return 1
	done &&
	sqlite3 data/ae.db ".schema participants" | grep STRICT
'

test_expect_success '/health says the database is ok, /stats counts' '
	nano coap get $AE/health >out &&
	grep "\"status\":\"ok\"" out && grep "\"db\":\"ok\"" out &&
	nano coap get $AE/stats >out &&
	grep "\"role\":\"ae\"" out && grep "\"participants\":0" out &&
	grep "\"sync\":\"normal\"" out
'

test_expect_success '/.well-known/core lists the resources with rt="nano.ae"' '
	nano coap get $AE/.well-known/core >out &&
	for r in auth participants meetings events backup; do
		grep "</$r>;rt=\"nano.ae\"" out || return 1
	done
'

test_expect_success 'unknown resources and wrong methods' '
	test_expect_code 1 nano coap -v get $AE/nothing 2>err >out &&
	grep "^4.04" err && grep "\"error\"" out &&
	test_expect_code 1 nano coap -v get $AE/auth 2>err &&
	grep "^4.05" err &&
	test_expect_code 1 nano coap -v delete $AE/participants 2>err &&
	grep "^4.05" err &&
	test_expect_code 1 nano coap -v put $AE/meetings/m1 "{}" 2>err &&
	grep "^4.05" err
'

test_expect_success '3,000 malformed datagrams leave ae answering, its data intact' '
	nano coap post $AE/participants "{\"id\":\"alice\",\"name\":\"Alice\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" &&
	sqlite3 data/ae.db .dump >before &&
	perl "$TEST_DIR/fuzz-datagrams.pl" $NET.1 5683 3000 100 >out &&
	grep "sent 3000" out &&
	nano coap get $AE/participants/alice &&
	sqlite3 data/ae.db .dump >after &&
	test_cmp before after
'

test_expect_success 'SIGTERM: exit 0 after a backup' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	grep "written before exit" ae.log &&
	ls bk/ae-*.db &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_expect_success 'a restart finds the same database and migrates nothing' '
	start_bg ae2 "$NANO" ae --db $TMP/data/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	! grep "new database" ae2.log &&
	! grep "migrated" ae2.log &&
	! grep "RESTORED" ae2.log &&
	stop_bg ae2
'

test_expect_success 'a database from a newer nano is refused, not touched' '
	sqlite3 data/ae.db "PRAGMA user_version = 99" &&
	cp data/ae.db newer.db &&
	test_expect_code 1 nano ae --db $TMP/data/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 2>err &&
	grep "newer than this nano" err &&
	cmp data/ae.db newer.db
'

test_expect_success 'a database directory that cannot be created is exit 1' '
	echo file >blocker &&
	test_expect_code 1 nano ae --db $TMP/blocker/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 2>err &&
	grep "cannot create directory" err
'

test_done
