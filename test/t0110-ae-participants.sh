#!/bin/sh
# Participants: create, read, replace, delete with the CoAP codes as CoAP
# means them (2.01 2.04 2.02 2.05 4.00 4.04 4.09), through nano coap and
# libcoap's coap-client; a refused request changes nothing.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
Q="'"   # a single quote for SQL strings inside test bodies

# The database as text: what "nothing changed" is compared on.
dump() { sqlite3 ae.db .dump; }

# cc CODE ARGS...: libcoap's coap-client must get CODE (read from its
# PDU log, since its exit status does not say).
cc() {
	want=$1
	shift
	coap-client-notls -B 5 -v 6 "$@" >cc.out 2>&1
	grep -q "t:ACK c:$want" cc.out && return 0
	cat cc.out
	return 1
}


test_expect_success 'setup: ae on a new database' '
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 &&
	wait_for_health $AE
'

test_expect_success 'POST /participants is 2.01 with the stored participant' '
	nano coap -v post $AE/participants "{\"id\":\"alice\",\"name\":\"Alice\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" >out 2>err &&
	grep "^2.01" err &&
	test "$(cat out)" = "{\"id\":\"alice\",\"name\":\"Alice\",\"ble\":\"AA:BB:CC:DD:EE:01\"}"
'

test_expect_success 'a lower-case address is stored upper-case' '
	nano coap post $AE/participants "{\"id\":\"bob\",\"name\":\"Bob\",\"ble\":\"aa:bb:cc:dd:ee:0a\"}" >out &&
	grep "\"ble\":\"AA:BB:CC:DD:EE:0A\"" out &&
	test "$(sqlite3 ae.db "SELECT ble FROM participants WHERE id = ${Q}bob${Q}")" = AA:BB:CC:DD:EE:0A
'

test_expect_success 'GET /participants/<id> is 2.05, GET /participants lists all by id' '
	nano coap -v get $AE/participants/bob >out 2>err &&
	grep "^2.05" err &&
	grep "\"name\":\"Bob\"" out &&
	nano coap get $AE/participants >out &&
	test "$(cat out)" = "{\"participants\":[{\"id\":\"alice\",\"name\":\"Alice\",\"ble\":\"AA:BB:CC:DD:EE:01\"},{\"id\":\"bob\",\"name\":\"Bob\",\"ble\":\"AA:BB:CC:DD:EE:0A\"}]}"
'

test_expect_success 'an unknown id is 4.04 with a JSON error' '
	test_expect_code 1 nano coap -v get $AE/participants/nobody >out 2>err &&
	grep "^4.04" err &&
	grep "no participant .nobody." out &&
	test_expect_code 1 nano coap -v delete $AE/participants/nobody 2>err &&
	grep "^4.04" err &&
	test_expect_code 1 nano coap -v get $AE/participants/a/b 2>err &&
	grep "^4.04" err
'

test_expect_success 'a duplicate id is 4.09 and changes nothing' '
	dump >before &&
	test_expect_code 1 nano coap -v post $AE/participants "{\"id\":\"alice\",\"name\":\"Other\",\"ble\":\"AA:BB:CC:DD:EE:99\"}" >out 2>err &&
	grep "^4.09" err && grep "participant .alice. exists" out &&
	dump >after && test_cmp before after
'

test_expect_success 'a duplicate BLE address (any case) is 4.09 and changes nothing' '
	dump >before &&
	test_expect_code 1 nano coap -v post $AE/participants "{\"id\":\"eve\",\"name\":\"Eve\",\"ble\":\"aa:BB:cc:DD:ee:01\"}" >out 2>err &&
	grep "^4.09" err && grep "belongs to participant .alice." out &&
	test_expect_code 1 nano coap -v put $AE/participants/bob "{\"name\":\"Bob\",\"ble\":\"AA:BB:CC:DD:EE:01\"}" 2>err &&
	grep "^4.09" err &&
	dump >after && test_cmp before after
'

test_expect_success 'PUT replaces (2.04) and creates (2.01)' '
	nano coap -v put $AE/participants/bob "{\"name\":\"Robert\",\"ble\":\"AA:BB:CC:DD:EE:02\"}" >out 2>err &&
	grep "^2.04" err &&
	nano coap get $AE/participants/bob | grep "\"name\":\"Robert\",\"ble\":\"AA:BB:CC:DD:EE:02\"" &&
	nano coap -v put $AE/participants/carl "{\"id\":\"carl\",\"name\":\"Carl\",\"ble\":\"AA:BB:CC:DD:EE:03\"}" 2>err &&
	grep "^2.01" err &&
	nano coap get $AE/participants/carl | grep "\"name\":\"Carl\""
'

test_expect_success 'PUT with another id in the body is 4.00' '
	dump >before &&
	test_expect_code 1 nano coap -v put $AE/participants/carl "{\"id\":\"dave\",\"name\":\"Carl\",\"ble\":\"AA:BB:CC:DD:EE:03\"}" >out 2>err &&
	grep "^4.00" err && grep "differs from the id in the URI" out &&
	test_expect_code 1 nano coap -v put "$AE/participants/a%20b" "{\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:33\"}" 2>err &&
	grep "^4.00" err &&
	dump >after && test_cmp before after
'

test_expect_success 'bad bodies are 4.00 naming the problem; nothing changes' '
	dump >before &&
	for body in "" "{" "[1,2]" "{\"id\":\"x\"}" \
		"{\"id\":\"x\",\"name\":\"X\"}" \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE\"}" \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":\"AA-BB-CC-DD-EE-FF\"}" \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":\"GG:BB:CC:DD:EE:FF\"}" \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":7}" \
		"{\"id\":7,\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:77\"}" \
		"{\"id\":\"x\",\"name\":[],\"ble\":\"AA:BB:CC:DD:EE:77\"}" \
		"{\"id\":\"x\",\"name\":\"\",\"ble\":\"AA:BB:CC:DD:EE:77\"}" \
		"{\"id\":\"x/y\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:77\"}" \
		"{\"id\":\"\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:77\"}" \
		"{\"id\":\"x\",\"name\":\"X\",\"ble\":\"AA:BB:CC:DD:EE:77\",\"irk\":\"xyz\"}"
	do
		test_expect_code 1 nano coap -v post $AE/participants "$body" >out 2>err </dev/null &&
		grep -q "^4.00" err && grep -q "\"error\":" out || { echo "body: $body"; cat err out; return 1; }
	done &&
	dump >after && test_cmp before after
'

test_expect_success 'an IRK is stored (as 16 bytes), never shown, kept by a PUT without one' '
	nano coap post $AE/participants "{\"id\":\"dave\",\"name\":\"David\",\"ble\":\"AA:BB:CC:DD:EE:04\",\"irk\":\"00112233445566778899aabbccddeeff\"}" >out &&
	! grep irk out &&
	test "$(sqlite3 ae.db "SELECT hex(irk) FROM participants WHERE id = ${Q}dave${Q}")" = 00112233445566778899AABBCCDDEEFF &&
	nano coap put $AE/participants/dave "{\"name\":\"Dave\",\"ble\":\"AA:BB:CC:DD:EE:04\"}" &&
	test "$(sqlite3 ae.db "SELECT length(irk) FROM participants WHERE id = ${Q}dave${Q}")" = 16
'

test_expect_success 'DELETE is 2.02; the participant and their invitations are gone' '
	S=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ) &&
	E=$(date -u -d "+2 hour" +%Y-%m-%dT%H:%M:%SZ) &&
	nano coap post $AE/meetings "{\"id\":\"m1\",\"title\":\"T\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$S\",\"end\":\"$E\",\"participants\":[\"carl\",\"bob\"]}" &&
	nano coap -v delete $AE/participants/carl 2>err &&
	grep "^2.02" err &&
	test_expect_code 1 nano coap get $AE/participants/carl &&
	nano coap get $AE/meetings/m1 >out &&
	grep "\"participants\":\\[\"alice\",\"bob\"\\]" out &&
	test "$(sqlite3 ae.db "SELECT count(*) FROM invitations WHERE participant = ${Q}carl${Q}")" = 0
'

test_expect_success 'deleting an organizer is 4.09 until the meeting is gone' '
	dump >before &&
	test_expect_code 1 nano coap -v delete $AE/participants/alice >out 2>err &&
	grep "^4.09" err && grep "organizes meeting .m1." out &&
	dump >after && test_cmp before after &&
	nano coap delete $AE/meetings/m1 &&
	nano coap -v delete $AE/participants/alice 2>err && grep "^2.02" err
'

test_expect_success 'every change is an event row' '
	sqlite3 ae.db "SELECT kind, participant, detail FROM events WHERE kind = ${Q}participant${Q} ORDER BY id" >out &&
	cat >expect <<-EOF &&
	participant|alice|created
	participant|bob|created
	participant|bob|updated
	participant|carl|created
	participant|dave|created
	participant|dave|updated
	participant|carl|deleted
	participant|alice|deleted
	EOF
	test_cmp expect out
'

test_expect_success COAP_CLIENT 'coap-client: 2.01, 2.05, 2.04, 4.09, 4.04, 2.02, 4.00' '
	cc 2.01 -m post -t json -e "{\"id\":\"fred\",\"name\":\"Fred\",\"ble\":\"AA:BB:CC:DD:EE:06\"}" $AE/participants &&
	cc 2.05 -m get $AE/participants/fred &&
	grep "\"name\":\"Fred\"" cc.out &&
	cc 2.04 -m put -t json -e "{\"name\":\"Frederick\",\"ble\":\"AA:BB:CC:DD:EE:06\"}" $AE/participants/fred &&
	cc 4.09 -m post -t json -e "{\"id\":\"fred\",\"name\":\"F\",\"ble\":\"AA:BB:CC:DD:EE:07\"}" $AE/participants &&
	cc 4.04 -m get $AE/participants/nobody &&
	cc 2.02 -m delete $AE/participants/fred &&
	cc 4.04 -m delete $AE/participants/fred &&
	cc 4.00 -m post -t json -e "{nope" $AE/participants
'

test_expect_success 'ae stops cleanly' '
	stop_bg ae &&
	test "$ae_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
