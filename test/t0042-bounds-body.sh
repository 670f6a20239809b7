#!/bin/sh
# What a request body may cost a role: --max-body (4.13 as soon as Size1
# or the bytes received pass it, never after reassembly), --max-uploads
# (5.03 with Max-Age), --upload-timeout (an unfinished upload is dropped),
# blocks out of order (4.08), and a whole block-wise body still works.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/flow.sh"

RAW="python3 $TEST_DIR/coap-raw.py"

test_expect_success 'setup: ae (2 uploads at once, 1 s to finish) and mcs (4 KiB bodies)' '
	seed_paper &&
	start_ae --max-uploads 2 --upload-timeout 1s &&
	start_bg mcs "$NANO" mcs --listen $NET.2:5683 --max-body 4k &&
	wait_for_health $AE && wait_for_health $MCS
'

test_expect_success 'bad bound flags are usage errors (exit 2)' '
	test_expect_code 2 nano pd --listen $NET.9:5683 --sensor sim --location x --max-body 10x &&
	test_expect_code 2 nano pd --listen $NET.9:5683 --sensor sim --location x --max-uploads 65 &&
	test_expect_code 2 nano pd --listen $NET.9:5683 --sensor sim --location x --upload-timeout 5 &&
	test_expect_code 2 nano pd --listen $NET.9:5683 --sensor sim --location x --max-observers -1
'

test_expect_success 'Size1 of 4 GiB: 4.13 on the first block, Size1 = the limit' '
	$RAW $NET.1 5683 upload participants 5000 --size1 4294967295 >out &&
	cat out &&
	test "$(head -n 1 out)" = 4.13 &&
	grep "^size1=6422528$" out &&
	test "$(stat_of $AE rss_kb)" -lt "$(rss_max 8000)"
'

test_expect_success 'no Size1, 7 MB: refused at the block that passes 6 MiB + 128 KiB' '
	$RAW $NET.1 5683 upload participants 7000000 >out &&
	test "$(grep -c "^2.31$" out)" = 6272 &&
	test "$(grep -v "^2.31$" out | head -n 1)" = 4.13 &&
	test "$(stat_of $AE uploads)" = 0 &&
	rss=$(stat_of $AE rss_kb) && say "ae rss after: $rss kB" &&
	test "$rss" -lt "$(rss_max 12000)"
'

test_expect_success '--max-body 4k on mcs: one datagram of 4,100 bytes is 4.13' '
	printf "%04100d" 0 >big &&
	test_expect_code 1 nano coap -v post $MCS/presence - <big 2>err &&
	grep "4.13" err &&
	$RAW $NET.2 5683 upload presence 6000 >out &&
	test "$(tr "\n" " " <out)" = "2.31 2.31 2.31 2.31 4.13 size1=4096 "
'

test_expect_success 'two unfinished uploads hold the slots: the third is 5.03 with Max-Age' '
	$RAW $NET.1 5683 upload participants 9000 --stop-after 3 --tag a >out1 &&
	$RAW $NET.1 5683 upload participants 9000 --stop-after 3 --tag b >out2 &&
	test "$(stat_of $AE uploads)" = 2 &&
	$RAW $NET.1 5683 upload participants 9000 --stop-after 3 --tag c >out3 &&
	test "$(tr "\n" " " <out3)" = "5.03 max_age=1 " &&
	test "$(stat_of $AE refused_uploads)" = 1
'

test_expect_success 'after --upload-timeout they are dropped and uploads work again' '
	wait_until "test \"\$(stat_of $AE uploads)\" = 0" 60 &&
	grep "unfinished upload of 3072 bytes dropped" ae.log &&
	$RAW $NET.1 5683 upload participants 3000 --tag d >out &&
	test "$(tail -n 1 out)" != 5.03
'

test_expect_success 'a block skipped is 4.08, and the upload is gone' '
	$RAW $NET.1 5683 upload participants 9000 --skip 2 --tag e >out &&
	test "$(tr "\n" " " <out)" = "2.31 2.31 4.08 " &&
	test "$(stat_of $AE uploads)" = 0
'

test_expect_success 'a whole block-wise body (no Size1) reaches the handler' '
	/usr/bin/python3 -c "import json; print(json.dumps({\"id\":\"m9\",\"title\":\"Big\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$(when -5)\",\"end\":\"$(when 60)\",\"participants\":[],\"content\":\"y\"*150000}))" >m9.json &&
	nano coap -v post $AE/meetings - <m9.json 2>err >/dev/null &&
	grep 2.01 err &&
	nano coap get $AE/meetings/m9/content >got &&
	test "$(wc -c <got)" = 150000
'

test_expect_success 'a bound hit many times is logged once a minute, not per datagram' '
	for i in 1 2 3 4 5; do
		$RAW $NET.1 5683 upload participants 5000 --size1 99999999 >/dev/null || return 1
	done &&
	test "$(grep -c "refused: --max-body" ae.log)" -le 1
'

test_expect_success 'both roles are up and stop cleanly' '
	nano coap get $AE/health && nano coap get $MCS/health &&
	stop_bg ae && test "$ae_status" = 0 &&
	stop_bg mcs && test "$mcs_status" = 0 &&
	! grep -E "AddressSanitizer|runtime error" ae.log mcs.log
'

test_done
