#!/bin/sh
# What make fuzz found (test/fuzz/README, "Findings"), through the real
# binary: every input in test/fuzz/crashes/ replayed at the role it came
# from, or at the role whose body parser reaches the finding, and each
# role must still answer GET /health.
#   ROLE-*      a role target's input (datagrams, test/fuzz/roles.c),
#               replayed by test/fuzz/replay.py from one socket
#   json-*      json_get_int of a number past long long's range: undefined
#               behaviour (only clang's UBSan, make fuzz, sees it; here
#               the request must be refused and bs stay up)
#   rfc3339-*   times rfc3339_parse accepted and should not (a sign in a
#               field; year 10000 after a leap second): refused now
#   render-*    md4c reading past a content's end: replayed by make fuzz
#               (the render target) and test/unit/render.c
. "$(dirname "$0")/lib.sh"

CRASHES=$TEST_DIR/fuzz/crashes
# Under a clang UBSan build, only what is not already known is reported.
export UBSAN_OPTIONS="suppressions=$TEST_DIR/fuzz/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
REPLAY="python3 $TEST_DIR/fuzz/replay.py"
DEAD=coap://$NET.250:9          # nothing listens there

# The roles as test/fuzz/run.sh starts them: sim hardware, peers down.
start_role() {
	case $1 in
	ae)  start_bg ae nano ae --listen $NET.1:5683 --db "$TMP/ae.db" --backup-dir "$TMP/backup" ;;
	mcs) start_bg mcs nano mcs --listen $NET.2:5683 --ae $DEAD --ug $DEAD --bs entrance=$DEAD \
		--bs-room R1=$DEAD --pd-room $DEAD --mrs R1=$DEAD ;;
	pd)  start_bg pd nano pd --listen $NET.3:5683 --sensor sim --location entrance --mcs $DEAD ;;
	bs)  start_bg bs nano bs --listen $NET.4:5683 --adapter sim --location R1 --scan on-demand \
		--mcs $DEAD ;;
	ug)  start_bg ug nano ug --listen $NET.5:5683 --leds sim:1,2,3,4 --route R1=1,2,3 \
		--route R2=1,2,4 ;;
	mrs) start_bg mrs nano mrs --listen $NET.6:5683 --room R1 --ae $DEAD ;;
	esac
}
host_of() {
	case $1 in ae) echo 1 ;; mcs) echo 2 ;; pd) echo 3 ;; bs) echo 4 ;; ug) echo 5 ;; mrs) echo 6 ;; esac
}

test_expect_success 'setup: the six roles, sim hardware, peers down' '
	for r in ae mcs pd bs ug mrs; do start_role $r; done &&
	for r in ae mcs pd bs ug mrs; do wait_for_health coap://$NET.$(host_of $r) || return 1; done
'

for r in ae mcs pd bs ug mrs; do
	for f in "$CRASHES"/$r-*; do
		[ -f "$f" ] || continue
		test_expect_success "$r: $(basename "$f") replayed, $r still answers" "
			$REPLAY -v $NET.$(host_of $r) 5683 '$f'
		"
	done
done

test_expect_success 'json-int-out-of-range: a number past long long refused (bs /scan), bs up' '
	for n in 8.8e82 -1e300 1e19 9223372036854775808; do
		nano coap -v post coap://$NET.4/scan "{\"duration_ms\":$n}" >out 2>&1
		grep -q "4\.00" out || { cat out; return 1; }
	done &&
	nano coap get coap://$NET.4/health >/dev/null
'

# post_meeting ID START END: ae's answer code in out
post_meeting() {
	nano coap -v post coap://$NET.1/meetings \
		"{\"id\":\"$1\",\"title\":\"t\",\"room\":\"R1\",\"start\":\"$2\",\"end\":\"$3\"}" \
		>out 2>&1
	cat out
}

test_expect_success 'rfc3339-sign-in-field: "9900-12-+1T23:59:59z" refused by ae (4.00)' '
	post_meeting fz1 "$(cat "$CRASHES"/rfc3339-sign-in-field)" 9900-12-02T00:00:00Z &&
	grep -q "4\.00" out
'

# ae must refuse it, or give back times that rfc3339_parse reads again
# (mrs reads ae's answer): 4 digits of year.
test_expect_success 'rfc3339-year-10000: "9999-12-31T23:59:60.9Z" refused, or read back as RFC 3339' '
	post_meeting fz2 "$(cat "$CRASHES"/rfc3339-year-10000)" 9999-12-31T23:59:60.95Z &&
	{ grep -q "4\.00" out ||
	  { nano coap get coap://$NET.1/meetings/fz2 >got &&
	    cat got && ! grep -q "\"1[0-9]\{4\}-" got; }; }
'

test_expect_success 'every role stops cleanly (no crash, no sanitizer report)' '
	stop_cleanly ae mcs pd bs ug mrs
'

test_done
