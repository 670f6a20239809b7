#!/bin/sh
# --backup-interval: POST /backup at most once per interval.  Sooner is
# 4.29 Too Many Requests (RFC 8516) with Max-Age, the seconds to wait, a
# JSON error and no file; logged once per interval; after it, a backup
# works again; --backup-keep still bounds the copies; SIGTERM's backup is
# never refused; 0 turns the limit off.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1

# coap-maxage.pl HOST PATH: one confirmable POST; prints "CODE max_age=N"
# (or max_age=none) and then the payload, read from the datagram itself
# (nano coap does not show options).
cat >coap-maxage.pl <<'EOF'
use strict;
use warnings;
use IO::Socket::INET;

my ($host, $path) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => 5683, Proto => 'udp')
  or die "socket: $!\n";
# ver 1, CON, token "mx"; POST; one Uri-Path option (number 11)
$s->send(chr(0x42) . chr(2) . pack('n', int(rand(65536))) . 'mx'
         . chr((11 << 4) | length $path) . $path) or die "send: $!\n";
my $rin = '';
vec($rin, fileno($s), 1) = 1;
select(my $rout = $rin, undef, undef, 5) or die "no answer\n";
defined $s->recv(my $d, 4096) or die "recv: $!\n";
my ($code, $i, $num, %opt) = (ord(substr($d, 1, 1)), 4 + (ord(substr($d, 0, 1)) & 15), 0);
while ($i < length $d && ord(substr($d, $i, 1)) != 0xFF) {
  my $b = ord(substr($d, $i++, 1));
  my @dl = ($b >> 4, $b & 15);
  for (@dl) {
    if ($_ == 13) { $_ = ord(substr($d, $i, 1)) + 13; $i += 1 }
    elsif ($_ == 14) { $_ = unpack('n', substr($d, $i, 2)) + 269; $i += 2 }
  }
  $num += $dl[0];
  $opt{$num} = unpack('N', ("\0" x (4 - $dl[1])) . substr($d, $i, $dl[1])) if $dl[1] <= 4;
  $i += $dl[1];
}
printf "%d.%02d max_age=%s\n", $code >> 5, $code & 31, $opt{14} // 'none';
print $i < length $d ? substr($d, $i + 1) : '', "\n";
EOF
backup() { perl coap-maxage.pl $NET.1 backup; }
files() { ls bk | grep -c "^ae-.*\.db$"; }

start_ae() {
	start_bg ae "$NANO" ae --db $TMP/ae.db --backup-dir $TMP/bk --listen $NET.1:5683 "$@" &&
	wait_for_health $AE
}

test_expect_success '--backup-interval: default 60s; a bad one is exit 2' '
	nano ae --help >out &&
	grep -- "--backup-interval V .*\[60s\]" out &&
	test_expect_code 2 nano ae --db x.db --backup-interval soon --listen $NET.1:5683 2>err &&
	grep "backup-interval" err
'

test_expect_success 'setup: ae with --backup-interval 2s --backup-keep 2' '
	start_ae --backup-interval 2s --backup-keep 2 &&
	grep "backup_interval_ms=2000 " ae.log
'

test_expect_success 'the first POST /backup is 2.01' '
	backup >out &&
	head -1 out | grep "^2.01 max_age=none$" &&
	grep "\"file\":\"ae-" out &&
	test "$(files)" = 1
'

test_expect_success 'a second at once is 4.29 with Max-Age, a JSON error, and no file' '
	backup >out &&
	head -1 out | grep "^4.29 max_age=[12]$" &&
	sed -n 2p out | grep "^{\"error\":\"a backup was made [01] s ago; the next is allowed in [12] s\"}$" &&
	test "$(files)" = 1 &&
	! ls bk/.*.tmp 2>/dev/null &&
	test_expect_code 1 nano coap -v post $AE/backup >out 2>err &&
	grep "^4.29$" err && grep "\"error\":" out &&
	nano coap get $AE/stats | grep "\"responses_4xx\":2,"
'

test_expect_success 'refusals are logged once per interval, not once per request' '
	for i in 1 2 3 4 5; do backup | grep "^4.29" || return 1; done &&
	test "$(grep -c "backup refused" ae.log)" = 1 &&
	grep "warn ae backup refused: the last one started [0-9]* ms ago, --backup-interval is 2000 ms; next allowed in [12] s" ae.log &&
	test "$(files)" = 1
'

test_expect_success 'after Max-Age seconds a backup works again; the refusals are counted' '
	wait_until "backup >out && head -1 out | grep -q \"^2.01\"" 60 &&
	test "$(files)" = 2 &&
	grep "info ae backup requests refused=[0-9]* in the last interval" ae.log &&
	test "$(grep -o "requests refused=[0-9]*" ae.log | cut -d= -f2)" -ge 7 &&
	backup | grep "^4.29 max_age=[12]$" &&
	test "$(grep -c "backup refused" ae.log)" = 2
'

test_expect_success '--backup-keep 2 still keeps the newest two' '
	first=$(ls bk | head -1) &&
	wait_until "backup >out && head -1 out | grep -q \"^2.01\"" 60 &&
	test "$(files)" = 2 &&
	! test -e "bk/$first" &&
	grep "backup=$TMP/bk/$first pruned" ae.log
'

test_expect_success 'SIGTERM right after a backup still writes its own' '
	backup | grep "^4.29" &&
	stop_bg ae &&
	test "$ae_status" = 0 &&
	grep "backup=$TMP/bk/ae-.* written before exit" ae.log &&
	test "$(files)" = 2 &&
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_expect_success '--backup-interval 0: no limit' '
	start_ae --backup-interval 0 --backup-keep 2 &&
	backup | grep "^2.01" &&
	backup | grep "^2.01" &&
	nano coap post $AE/backup | grep "\"file\":\"ae-" &&
	! grep "backup refused" ae.log &&
	stop_bg ae &&
	test "$ae_status" = 0
'

test_done
