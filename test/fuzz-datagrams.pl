#!/usr/bin/perl
# fuzz-datagrams.pl HOST PORT COUNT [SEED] - send COUNT malformed CoAP
# datagrams: random bytes, truncated headers, bad versions, token lengths
# 9-15, option deltas/lengths of the reserved value 15, options running
# past the end, payload markers with no payload, huge option lengths.
# Paced so the socket buffer does not simply drop most of them.
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(usleep);

my ($host, $port, $count, $seed) = @ARGV;
die "usage: $0 HOST PORT COUNT [SEED]\n" unless $count;
srand($seed // 42);
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'udp')
  or die "socket: $!\n";

sub rnd { join '', map { chr(int(rand(256))) } 1 .. $_[0] }
sub hdr {                       # ver, type, tkl, code, mid
  my ($ver, $type, $tkl, $code) = @_;
  chr(($ver << 6) | ($type << 4) | $tkl) . chr($code) . pack('n', int(rand(65536)));
}

my @kinds = (
  sub { rnd(int(rand(64))) },                                   # noise
  sub { rnd(int(rand(4))) },                                    # < 4 bytes
  sub { hdr(int(rand(4)) || 2, 0, 0, 1) . rnd(8) },             # bad version
  sub { hdr(1, 0, 9 + int(rand(7)), 1) . rnd(int(rand(20))) },  # tkl 9..15
  sub { hdr(1, 0, 8, 1) . rnd(3) },                             # token cut short
  sub { hdr(1, 0, 0, 1) . chr(0xF0 | int(rand(15))) . rnd(4) }, # delta 15
  sub { hdr(1, 0, 0, 1) . chr(0xBF) . rnd(4) },                 # length 15
  sub { hdr(1, 0, 0, 1) . chr(0xBE) . "\xff\xff" . rnd(10) },   # length past end
  sub { hdr(1, 0, 0, 1) . chr(0xB4) . "heal" . "\xff" },        # marker, no payload
  sub { hdr(1, int(rand(4)), 0, int(rand(256))) . rnd(int(rand(40))) }, # any code/type
  sub { hdr(1, 0, 2, 1) . "tk" . "\xBD\xF0" . rnd(300) },       # ext length 253
  sub { hdr(1, 0, 0, 2) . chr(0xB6) . "health" . chr(0x1D) . "\xff" . "x" }, # bad ct
  sub { hdr(1, 0, 0, 1) . (chr(0x0B) . "\xff" x 11) x 5 },      # repeated opts
  sub { hdr(1, 2, 0, 0) },                                      # ACK to nothing
  sub { hdr(1, 0, 0, 1) . chr(0xD1) . "\x0e" . rnd(8) . rnd(1500) }, # big option
);
for my $i (1 .. $count) {
  my $pkt = $kinds[$i % @kinds]->();
  $s->send($pkt);
  usleep(100) if $i % 20 == 0;
}
print "sent $count\n";
