#!/bin/sh
# test/lib.sh's prerequisites (git's test_set_prereq, test_lazy_prereq,
# test_have_prereq): a test whose prerequisite is missing does not run
# and says "ok N - TITLE # skip missing NAME", never a plain ok; one whose
# prerequisites hold runs and can fail; a lazy prerequisite is tried
# once; skip_all_unless skips a whole file.  Each case is a small test
# file of its own, run here, its TAP compared.
. "$(dirname "$0")/lib.sh"

OUTER=$TMP
export OUTER

# inner: the test file on stdin (after lib.sh, before test_done) run as
# t0002-inner.sh; its TAP in out, its exit status in $status
inner() {
	rm -f "$OUTER/ran" &&
	{ echo ". \"$TEST_DIR/lib.sh\""; cat; echo "test_done"; } >"$OUTER/t0002-inner.sh" &&
	{ sh "$OUTER/t0002-inner.sh" >out 2>&1; status=$?; } &&
	cat out
}

test_expect_success 'a missing prerequisite: the body does not run, the test says skip and why' '
	inner <<-\EOF &&
	test_lazy_prereq NOPE false "nothing provides it"
	test_expect_success NOPE "needs nope" "touch \"\$OUTER/ran\""
	EOF
	test $status = 0 &&
	printf "%s\n" "ok 1 - needs nope # skip missing NOPE (nothing provides it)" "1..1" >expect &&
	test_cmp expect out &&
	! test -e ran
'

test_expect_success 'a prerequisite that holds: the body runs, and may fail' '
	inner <<-\EOF &&
	test_set_prereq YES
	test_expect_success YES "runs" "touch \"\$OUTER/ran\""
	test_expect_success YES "fails" "false"
	EOF
	test $status = 1 &&
	sed -n 1,2p out >got &&
	printf "%s\n" "ok 1 - runs" "not ok 2 - fails" >expect &&
	test_cmp expect got &&
	test -e ran
'

test_expect_success 'A,B needs both; !A needs A missing' '
	inner <<-\EOF &&
	test_set_prereq YES
	test_lazy_prereq NOPE false
	test_expect_success YES,NOPE "both" "true"
	test_expect_success YES,!NOPE "one and not the other" "true"
	test_expect_success !YES "not yes" "true"
	EOF
	test $status = 0 &&
	printf "%s\n" "ok 1 - both # skip missing NOPE" "ok 2 - one and not the other" \
		"ok 3 - not yes # skip missing !YES (this machine has YES)" "1..3" >expect &&
	test_cmp expect out
'

test_expect_success 'a lazy prerequisite is tried once, when first asked' '
	: >tries &&
	inner <<-\EOF &&
	test_lazy_prereq COUNTED "echo try >>\"\$OUTER/tries\""
	test -s "$OUTER/tries" && echo "tried before asked"
	test_expect_success COUNTED "one" "true"
	test_expect_success COUNTED "two" "test_have_prereq COUNTED"
	EOF
	test $status = 0 &&
	! grep "tried before asked" out &&
	test "$(wc -l <tries)" = 1
'

test_expect_success 'skip_all_unless: the whole file is skipped, nothing runs' '
	inner <<-\EOF &&
	test_lazy_prereq NOPE false "nothing provides it"
	skip_all_unless NOPE
	test_expect_success "never" "touch \"\$OUTER/ran\""
	EOF
	test $status = 0 &&
	echo "1..0 # SKIP missing NOPE (nothing provides it)" >expect &&
	test_cmp expect out &&
	! test -e ran
'

test_expect_success 'the tools of lib.sh are prerequisites: COAP_CLIENT is coap-client-notls' '
	if command -v coap-client-notls >/dev/null; then want=0; else want=1; fi &&
	test_have_prereq COAP_CLIENT; test $? = $want
'

test_done
