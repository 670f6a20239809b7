#!/bin/sh
# An independent implementation on each side: nano coap against libcoap's
# own coap-server, and libcoap's coap-client against a server from nano's
# core (Debian's libcoap3-bin: coap-server-notls, coap-client-notls).
. "$(dirname "$0")/lib.sh"

skip_all_unless COAP_SERVER,COAP_CLIENT

SRV=coap://$NET.1
REF=coap://$NET.2

test_expect_success 'setup: a core server and libcoap coap-server' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 &&
	start_bg ref coap-server-notls -A $NET.2 -p 5683 -d 10 &&
	wait_for_health $SRV &&
	n=50; until nano coap -t 0.5 get $REF/ >/dev/null 2>&1; do
		n=$((n - 1)); test $n -gt 0 || return 1; sleep 0.1; done
'

test_expect_success 'nano coap GETs from coap-server' '
	nano coap get $REF/ >out &&
	grep -i "libcoap" out &&
	nano coap get $REF/.well-known/core >out &&
	grep "</time>" out
'

test_expect_success 'nano coap PUTs, GETs and DELETEs a dynamic resource on coap-server' '
	nano coap put $REF/mine "hello from nano" &&
	test "$(nano coap get $REF/mine)" = "hello from nano" &&
	nano coap delete $REF/mine &&
	test_expect_code 1 nano coap get $REF/mine
'

test_expect_success 'nano coap sends 100 KB block-wise to coap-server and reads it back' '
	head -c 100000 /dev/zero | tr "\0" "x" >big &&
	nano coap put $REF/bigone - <big &&
	nano coap get $REF/bigone >back &&
	cmp big back
'

test_expect_success 'nano coap observes coap-server /time' '
	nano coap -t 10 -n 2 observe $REF/time >out &&
	test "$(wc -l <out)" = 2
'

test_expect_success 'coap-client GETs /health from nano' '
	coap-client-notls -B 5 -m get $SRV/health >out &&
	grep "\"status\":\"ok\"" out
'

test_expect_success 'coap-client POSTs JSON to nano and gets it back' '
	coap-client-notls -B 5 -m post -t json -e "{\"n\":5}" $SRV/echo >out &&
	grep "{\"n\":5}" out
'

test_expect_success 'coap-client gets a bad-JSON 4.00 from nano' '
	coap-client-notls -B 5 -m post -t json -e "{nope" $SRV/echo >out 2>&1;
	grep "4.00" out
'

test_expect_success 'coap-client fetches 300,000 bytes block-wise (-b 64)' '
	coap-client-notls -B 20 -m get -b 64 $SRV/big >out &&
	head -c 300000 out >big &&
	nano coap get $SRV/big >mine &&
	cmp big mine
'

test_expect_success 'every block of a text answer says Content-Format text/plain' '
	coap-client-notls -v 7 -B 20 -m get -b 1024 $SRV/big >out 2>&1 &&
	grep "t:ACK c:2.05 .*Block2:[0-9]*/[M_]/1024" out >blocks &&
	blocks=$(wc -l <blocks) &&
	test "$blocks" -ge 293 &&
	test "$(grep -c "Content-Format:text/plain" blocks)" = "$blocks"
'

test_expect_success 'coap-client POSTs 60 KB block-wise to nano' '
	printf "{\"n\":2,\"pad\":\"%060000d\"}" 0 >req &&
	coap-client-notls -B 10 -m post -t json -b 512 -f req $SRV/echo >out &&
	head -c "$(wc -c <req)" out >resp &&
	cmp req resp
'

test_expect_success 'coap-client observes nano (-s) and sees a change' '
	start_bg cobs coap-client-notls -s 3 -B 4 -m get $SRV/counter &&
	sleep 0.7 &&
	nano coap post $SRV/counter &&
	wait $cobs_pid &&
	grep "{\"counter\":0}" cobs.log &&
	grep "{\"counter\":1}" cobs.log
'

test_done
