#!/bin/sh
# The whole flow over DTLS with pre-shared keys, every role with its own
# identity: the scenario reaches the display; a stranger's identity and a
# wrong key fail the handshake; each attack of a stranger or of a role
# beyond its rights is refused with its code and changes nothing; the
# plain port answers only GET /health; a replayed DTLS record is dropped;
# a restarted ae is reached again without anyone's help.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

# coap AS ARGS...: nano coap as identity AS (its line of the keys file)
coap() { as=$1; shift; "$NANO" coap -K "$TMP/keys" -u "$as" "$@"; }

test_expect_success 'setup: keys for every role and admin; the flow on 5684' '
	use_keys admin ae mcs ug mrs-R1 pd-entrance bs-entrance pd-room bs-room &&
	# libcoap 4.3.1'"'"'s coap-client takes -k as text: admin-cli'"'"'s key is text
	KS=$(od -An -tx1 -N16 /dev/urandom | tr -d " \n") &&
	echo "admin-cli $(printf %s "$KS" | od -An -tx1 | tr -d " \n")" >>keys &&
	nano keys new stranger >stranger.keys &&
	AE=coaps://$NET.1 MCS=coaps://$NET.2 UG=coaps://$NET.3 PD=coaps://$NET.4 &&
	BS=coaps://$NET.5 PDR=coaps://$NET.6 BSR=coaps://$NET.7 MRS=coaps://$NET.10 &&
	seed_paper &&
	start_flow &&
	grep "identity=ae keys=10 dtls" ae.log &&
	grep "listen=$NET.1:5684 dtls" ae.log &&
	grep "listen=$NET.1:5683 plain, GET /health only" ae.log &&
	wait_until "peers_up" 100
'

test_expect_success 'the paper'"'"'s flow over DTLS: Alice reaches the display' '
	arrive alice &&
	wait_state alice guiding &&
	reach_room alice &&
	wait_state alice presenting &&
	display_is meeting m1 &&
	display_lists alice
'

test_expect_success 'the plain port: GET /health only, everything else 4.01' '
	nano coap get coap://$NET.1/health >out && grep "\"status\":\"ok\"" out &&
	test_expect_code 1 nano coap -v get coap://$NET.1/participants 2>err &&
	grep 4.01 err &&
	test_expect_code 1 nano coap -v post coap://$NET.2/ble "{\"location\":\"room\",\"devices\":[]}" 2>err &&
	grep 4.01 err
'

test_expect_success 'an unknown identity and a wrong key fail the handshake' '
	test_expect_code 3 nano coap -t 3 -K stranger.keys get $AE/participants &&
	key=$(sed -n "s/^stranger //p" stranger.keys) &&
	test_expect_code 3 nano coap -t 3 -u admin -k $key get $AE/participants &&
	grep "identity=stranger unknown: handshake refused" ae.log
'

test_expect_success 'the database before the attacks' '
	sqlite3 ae.db .dump >before.sql
'

# attack IDENTITY CODE METHOD URI [BODY]
attack() {
	as=$1 want=$2
	shift 2
	coap "$as" -v -t 5 "$@" >/dev/null 2>err
	got=$(cat err)
	test "$got" = "$want" || { echo "$as $*: $got, not $want"; return 1; }
}

test_expect_success 'each role beyond its rights: 4.03, logged once' '
	attack pd-entrance 4.03 get $AE/participants &&
	attack pd-entrance 4.03 get $AE/participants &&
	attack mrs-R1 4.03 get $AE/events &&
	attack mcs 4.03 post $AE/participants "{\"id\":\"mallory\",\"name\":\"M\",\"ble\":\"AA:BB:CC:00:00:01\"}" &&
	attack mcs 4.03 put $AE/participants/bob "{\"name\":\"Bob\",\"ble\":\"AA:BB:CC:00:00:02\"}" &&
	attack mcs 4.03 delete $AE/meetings/m1 &&
	attack bs-entrance 4.03 post $AE/auth "{\"location\":\"entrance\",\"ble\":[\"AA:BB:CC:DD:EE:01\"]}" &&
	attack pd-entrance 4.03 post $UG/guide "{\"participant\":\"bob\",\"room\":\"R1\"}" &&
	attack bs-room 4.03 post $MRS/present "{\"participant\":\"bob\",\"meeting\":\"m1\"}" &&
	attack pd-room 4.03 post $MCS/ble "{\"location\":\"room\",\"devices\":[]}" &&
	test "$(grep -c "identity=pd-entrance method=GET path=participants refused" ae.log)" = 1
'

test_expect_success 'a spoofed room sighting (bs-entrance for the room) is 4.03, shows nothing' '
	attack bs-entrance 4.03 post $MCS/ble "{\"location\":\"room\",\"devices\":[{\"addr\":\"AA:BB:CC:DD:EE:02\",\"rssi\":-40}]}" &&
	attack pd-entrance 4.03 post $MCS/presence "{\"location\":\"room\"}" &&
	sleep 0.5 &&
	! display_lists bob
'

test_expect_success 'nothing changed in ae'"'"'s data' '
	sqlite3 ae.db .dump >after.sql &&
	test_cmp before.sql after.sql
'

test_expect_success 'admin may do everything on ae and read every role' '
	coap admin get $AE/events >/dev/null &&
	for u in $MCS/participants $UG/guide $MRS/display $PD/presence $BS/devices $MCS/stats; do
		coap admin get $u >/dev/null || { echo "admin cannot read $u"; return 1; }
	done &&
	attack admin 4.03 post $UG/guide "{\"participant\":\"bob\",\"room\":\"R1\"}"
'

# libcoap_reads_ae CLIENT: libcoap's CLIENT reads ae as an admin, and
# with a wrong key reads nothing
libcoap_reads_ae() {
	"$1" -B 5 -u admin-cli -k "$KS" $AE/participants >out 2>err &&
	grep "\"alice\"" out || { cat err; return 1; }
	"$1" -B 3 -u admin-cli -k "${KS}x" $AE/participants >out 2>err
	! grep -q alice out
}

test_expect_success COAP_CLIENT_OPENSSL 'libcoap'"'"'s coap-client-openssl reads ae as an admin' '
	libcoap_reads_ae coap-client-openssl
'

test_expect_success COAP_CLIENT_GNUTLS 'libcoap'"'"'s coap-client-gnutls reads ae as an admin' '
	libcoap_reads_ae coap-client-gnutls
'

test_expect_success COAP_SERVER_OPENSSL 'nano coap against libcoap'"'"'s coap-server-openssl over DTLS' '
	start_bg srv coap-server-openssl -A $NET.30 -p 5683 -k "$KS" &&
	wait_until "nano coap -t 1 get coap://$NET.30/ >/dev/null 2>&1" &&
	nano coap -u admin-cli -k "$(printf %s "$KS" | od -An -tx1 | tr -d " \n")" get coaps://$NET.30/ >out &&
	grep -i libcoap out &&
	test_expect_code 3 nano coap -t 3 -u admin-cli -k 00112233445566778899aabbccddeeff get coaps://$NET.30/
'

test_expect_success 'a DTLS record replayed is dropped' '
	# a second ug that only this test talks to, so its request count is ours
	start_bg ug2 "$NANO" ug --listen $NET.21:5684 --leds sim:1,2,3 --route R1=1,2,3 &&
	wait_for_health coap://$NET.21 &&
	# A handshake through the relay fails now and then (the client says
	# unreachable; not understood yet, see the closing note of issue 11):
	# a fresh relay on another address, up to five times.
	rm -f s1 &&
	for k in 1 2 3 4 5; do
		start_bg replay python3 "$TEST_DIR/udp-replay.py" $NET.4$k 5684 $NET.21 5684 &&
		wait_until "grep -q listening replay.log" &&
		coap admin -t 5 get coaps://$NET.4$k/stats >s1 && break
		stop_bg replay
		say "handshake through the relay failed (try $k)"
	done &&
	test -s s1 &&
	n1=$(pyjson s1 "d[\"requests\"]") &&
	kill -USR1 $replay_pid &&
	wait_until "grep -q \"replayed 1 record\" replay.log" &&
	sleep 0.3 &&
	coap admin get coaps://$NET.21/stats >s2 &&
	n2=$(pyjson s2 "d[\"requests\"]") &&
	say "requests before the replay: $n1, after: $n2 (the second GET itself)" &&
	test "$n2" = "$((n1 + 1))"
'

test_expect_success 'a restarted ae (kill -9, new DTLS sessions) is reached again' '
	stop_bg ae KILL &&
	AS=ae2 start_ae &&
	wait_for_health coap://$NET.1 &&
	arrive bob &&
	wait_state bob guiding 300
'

test_expect_success 'the roles stop cleanly' '
	stop_cleanly mcs ug ug2 mrsR1 pd bs pdr bsr ae2
'

test_done
