#!/bin/sh
# CoAP over DTLS 1.2 with a pre-shared key (RFC 7252 9.1.3.1): the core's
# server (testsrv --psk), built on nano's trimmed mbedTLS
# (mk/mbedtls-config.h), against two independent DTLS stacks: Debian's
# libcoap clients over OpenSSL and over GnuTLS (libcoap3-bin).  The
# handshake itself is the test, not the link: a trimmed configuration can
# link and still fail every handshake (too small a record buffer, a
# missing suite).  The right identity and key get 2.05, on an AES-CCM or
# AES-GCM PSK suite; a wrong key and an unknown identity get nothing.
. "$(dirname "$0")/lib.sh"

skip_all_unless COAP_CLIENT_OPENSSL,COAP_CLIENT_GNUTLS

ID=nano-t0060
# coap-client 4.3.1 takes the key's bytes as written (-k); --psk takes hex
KEY=t0060-key-0123456789abcd
HEX=$(printf %s "$KEY" | od -An -tx1 | tr -d ' \n')
SRV=coaps://$NET.1

# client NAME ARGS...: Debian's coap-client over OpenSSL or GnuTLS.  It exits
# 0 whether or not the handshake worked, so the tests read its output.
client() {
	_c=$1
	shift
	"coap-client-$_c" -B 5 "$@"
}

test_expect_success 'setup: testsrv with a DTLS endpoint on port 5684' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 --psk "$ID:$HEX" --log-level debug &&
	wait_for_health coap://$NET.1 &&
	grep "listen=$NET.1:5684 dtls psk identity=$ID" "$TMP/srv.log"
'

for c in openssl gnutls; do
	test_expect_success "coap-client-$c: handshake, GET /health is 2.05" '
		client $c -v 6 -u "$ID" -k "$KEY" -m get $SRV/health >out 2>&1 &&
		grep "t:ACK c:2.05" out &&
		grep "\"status\":\"ok\"" out
	'

	test_expect_success "coap-client-$c: POST /echo and a block-wise GET /big over DTLS" '
		client $c -u "$ID" -k "$KEY" -m post -t json -e "{\"n\":60}" $SRV/echo >out 2>&1 &&
		grep "{\"n\":60}" out &&
		nano coap get coap://$NET.1/big >plain &&
		client $c -B 20 -u "$ID" -k "$KEY" -m get $SRV/big >dtls 2>&1 &&
		head -c 300000 dtls | cmp - plain
	'

	test_expect_success "coap-client-$c: a wrong key fails the handshake" '
		client $c -B 3 -u "$ID" -k "t0060-key-0123456789abcX" -m get $SRV/health >out 2>&1;
		cat out &&
		! grep "c:2.05\|\"status\"" out &&
		grep -i "bad record mac" out &&
		wait_until "grep -q \"establish returned .SSL - Verification of the message MAC failed.\" \"$TMP/srv.log\""
	'

	test_expect_success "coap-client-$c: an unknown identity fails the handshake" '
		client $c -B 3 -u "intruder-$c" -k "$KEY" -m get $SRV/health >out 2>&1;
		cat out &&
		! grep "c:2.05\|\"status\"" out &&
		wait_until "grep -q \"psk: unknown identity .intruder-$c.\" \"$TMP/srv.log\""
	'
done

test_expect_success 'the DTLS port does not answer plain CoAP' '
	test_expect_code 3 nano coap -t 1 get coap://$NET.1:5684/health
'

test_expect_success 'every handshake chose an AES-CCM or AES-GCM PSK suite' '
	grep -o "selected ciphersuite: [A-Z0-9-]*" "$TMP/srv.log" | sort | uniq -c >suites &&
	cat suites &&
	test -s suites &&
	! grep -v -E "selected ciphersuite: TLS-PSK-WITH-AES-(128|256)-(CCM|CCM-8|GCM-SHA256|GCM-SHA384)$" suites
'
grep -o "selected ciphersuite: [A-Z0-9-]*" "$TMP/srv.log" | sort -u | while read -r line; do say "$line"; done

test_done
