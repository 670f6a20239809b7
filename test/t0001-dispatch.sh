#!/bin/sh
# One binary, many applets: dispatch by argument and by symlink name.
. "$(dirname "$0")/lib.sh"

test_expect_success 'nano --version names the version' '
	nano --version >out &&
	grep "^nano [0-9][0-9.]*" out
'

test_expect_success 'nano --list: the roles, an empty line, the tools, one a line' '
	nano --list >out &&
	printf "%s\n" ae bs mcs mrs pd ug "" coap demo health irk keys stack >expect &&
	test_cmp expect out
'

test_expect_success 'nano --list roles and nano --list tools: one kind, sorted' '
	nano --list roles >roles &&
	nano --list tools >tools &&
	printf "%s\n" ae bs mcs mrs pd ug >expect &&
	test_cmp expect roles &&
	grep -x coap tools && grep -x health tools && grep -x keys tools &&
	! grep -x -f roles tools &&
	test "$(sort tools)" = "$(cat tools)" &&
	test_expect_code 2 nano --list nothing 2>err &&
	grep "usage: nano --list \[roles|tools\]" err &&
	test_expect_code 2 nano --list roles tools
'

test_expect_success 'nano --help shows usage, the roles and the tools under their headings' '
	nano --help >out &&
	grep "usage: nano APPLET" out &&
	for a in $(nano --list); do grep "^  $a " out || return 1; done &&
	sed -n "/^roles/,/^\$/p" out >roles &&
	sed -n "/^tools/,\$p" out >tools &&
	for a in $(nano --list roles); do grep "^  $a " roles || return 1; done &&
	for a in $(nano --list tools); do grep "^  $a " tools || return 1; done &&
	! grep "^  coap " roles && ! grep "^  ae " tools
'

test_expect_success 'nano without arguments is a usage error' '
	test_expect_code 2 nano 2>err &&
	grep "usage:" err
'

test_expect_success 'an unknown applet is exit 2 with a message' '
	test_expect_code 2 nano frobnicate 2>err &&
	grep "unknown applet .frobnicate." err
'

test_expect_success 'an applet by argument: nano coap --help' '
	nano coap --help >out &&
	grep "usage: nano coap" out
'

test_expect_success 'an applet by symlink name: ./coap -h' '
	ln -s "$NANO" coap &&
	./coap -h >out &&
	grep "usage: nano coap" out &&
	test_expect_code 2 ./coap 2>err &&
	grep "usage: nano coap" err
'

test_expect_success 'a role by symlink name: ./pd, the same lifecycle as nano pd' '
	ln -s "$NANO" pd &&
	./pd --help >out &&
	grep "usage: nano pd" out &&
	grep -e "--listen" out && grep -e "--sensor" out &&
	nano pd --help >out2 &&
	test_cmp out2 out &&
	test_expect_code 2 ./pd --insecure 2>err &&
	grep "pd: --location is required" err &&
	! grep started err
'

test_expect_success 'an applet by a symlink anywhere in PATH' '
	mkdir -p bin &&
	ln -s "$NANO" bin/health &&
	PATH="$TMP/bin:$PATH" health --help >out &&
	grep "usage: nano health" out
'

test_expect_success 'a renamed nano still dispatches on argv[1]' '
	cp "$NANO" ./nano-copy &&
	./nano-copy --list >out &&
	grep -x coap out
'

test_expect_success 'nano --install DIR makes one symlink per applet' '
	nano --install inst &&
	for a in $(nano --list); do
		test -L "inst/$a" || return 1
		test "$(readlink "inst/$a")" = "$(readlink -f "$NANO")" || return 1
	done &&
	test "$(ls inst | wc -l)" = "$(nano --list | grep -c .)" &&
	inst/coap -h | grep "usage: nano coap"
'

test_expect_success 'nano --install again replaces its own symlinks' '
	nano --install inst &&
	test -L inst/coap
'

test_expect_success 'nano --install never clobbers a regular file' '
	mkdir inst2 &&
	echo precious >inst2/coap &&
	test_expect_code 1 nano --install inst2 2>err &&
	grep "not a symlink" err &&
	test "$(cat inst2/coap)" = precious &&
	test -L inst2/health
'

test_expect_success 'nano --install without DIR is a usage error' '
	test_expect_code 2 nano --install
'

test_done
