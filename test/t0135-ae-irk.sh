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

test_done
