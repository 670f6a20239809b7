#!/bin/sh
# The datagrams that killed every role of round 1 (one or two each), sent
# to all six roles at once; each must answer with an error and stay up.
#   - Block2 asking for a block far past the end of the answer: a double
#     free in server.c's req_reply (mcs, bs, mrs with num 4000; ug and pd
#     with num 5; ae with num 1048575 on GET /participants)
#   - Block1 num 0 M=1 (1,024 bytes, no Size1), then Block1 num 0 M=0 with
#     the same token: a NULL dereference in libcoap 4.3.1's
#     coap_handle_request_put_block (upstream issue 1566), on a POST
#     resource of each role
#   - a short Proxy-Uri, which libcoap 4.3.1 split reading past its heap
#     buffer on every request (OSV-2022-150): invisible in a release
#     build, an ASan report in make check's, where libcoap is instrumented
#   - the same with libcoap's own client where it is installed
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

RAW="python3 $TEST_DIR/coap-raw.py"
# role host postable-path
ROLES="ae 1 participants
mcs 2 presence
ug 3 guide
pd 4 sim/motion
bs 5 sim/adv
mrs 10 present"

test_expect_success 'setup: the six roles, each alone with simulated hardware' '
	seed_paper &&
	start_ae && start_mcs && start_ug && start_mrs R1 10 &&
	start_pd pd entrance 4 && start_bs bs entrance 5 &&
	for h in 1 2 3 4 5 10; do wait_for_health coap://$NET.$h || return 1; done
'

alive() {
	for h in 1 2 3 4 5 10; do
		nano coap -t 2 get coap://$NET.$h/health >/dev/null ||
			{ echo "role on $NET.$h does not answer" >&2; return 1; }
	done
}

test_expect_success 'Block2 past the end of /health: 4.00 from every role (ug, pd: num 5 too)' '
	for h in 1 2 3 4 5 10 3:5 4:5; do
		num=${h#*:}; test "$num" != "$h" || num=4000; h=${h%:*}
		$RAW $NET.$h 5683 block2 health $num 0 >out &&
		echo "$NET.$h num $num: $(cat out)" &&
		test "$(cat out)" = 4.00 || return 1
	done &&
	alive
'

test_expect_success 'Block2 num 1048575 on ae GET /participants: 4.00, ae up' '
	test "$($RAW $NET.1 5683 block2 participants 1048575 0)" = 4.00 &&
	test "$($RAW $NET.1 5683 block2 participants 1048575 6)" = 4.00 &&
	alive
'

test_expect_success 'a Block1 upload restarted at num 0 with M=0, on every role' '
	echo "$ROLES" | while read role h path; do
		$RAW $NET.$h 5683 block1-restart $path >out || return 1
		echo "$role /$path: $(tr "\n" " " <out)"
		# the first block is taken (2.31), the second is the whole body
		# of one datagram, which the handler judges (never a crash)
		test "$(head -n 1 out)" = 2.31 || return 1
		code=$(sed -n 2p out)
		case $code in 2.*|4.*) ;; *) echo "unexpected $code"; return 1 ;; esac
	done &&
	alive
'

test_expect_success 'a Uri-Path with a NUL, a control byte, bad UTF-8, or of 320 bytes: 4.00 (4.04 where no resource has such a prefix), 4.14' '
	for h in 1 2 3 4 5 10; do
		for p in "health\\x00x" "he\\x01alth" "participants/ev\\x00il" "\\xff\\xfe" "\\xc0\\xaf"; do
			code=$($RAW $NET.$h 5683 get "$p") &&
			case $code in 4.00|4.04) ;; *) echo "$NET.$h $p: $code"; return 1 ;; esac
		done
		code=$($RAW $NET.$h 5683 get "$(printf "segment/%.0s" $(seq 40))") &&
		{ test "$code" = 4.14 || test "$code" = 4.04 || { echo "$NET.$h long: $code"; return 1; }; } || return 1
	done &&
	# a role with prefix routes sees such a path, and refuses it
	test "$($RAW $NET.1 5683 get "participants/ev\\x00il")" = 4.00 &&
	test "$($RAW $NET.3 5683 get "guide/\\xff")" = 4.00 &&
	alive
'

test_expect_success 'a short Proxy-Uri: 5.05 (nano proxies nothing), every role up' '
	for h in 1 2 3 4 5 10; do
		for v in "coap:" "coap://" "coap://[" "c"; do
			code=$($RAW $NET.$h 5683 proxy-uri "$v") &&
			case $code in 5.05|4.02|4.00) ;; *) echo "$NET.$h $v: $code"; return 1 ;; esac
		done
	done &&
	alive
'

test_expect_success COAP_CLIENT 'libcoap'"'"'s own client: -b 4000,16 on /health of every role' '
	for h in 1 2 3 4 5 10; do
		coap-client-notls -B 3 -m get -b 4000,16 coap://$NET.$h/health >/dev/null 2>&1
	done
	for h in 4 3; do
		coap-client-notls -B 3 -m get -b 5,16 coap://$NET.$h/health >/dev/null 2>&1
	done
	alive
'

test_expect_success 'every role stops cleanly (no crash, no sanitizer report)' '
	stop_cleanly ae mcs ug mrsR1 pd bs
'

test_done
