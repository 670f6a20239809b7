#!/bin/sh
# b10-ae.sh - the Authentication Engine under load: POST /auth decisions
# per second and latency (p50/p99/max) from bench/coapload with 1 and 16
# concurrent clients, 1,000 participants and 100 meetings in the database
# (50 on now, 50 tomorrow, 10 invitees each), one and seven addresses per
# request, --sync normal against full (every decision is a committed
# event row, so this is also the write path), and the time from SIGTERM
# to exit including the verified backup.  Seven: the most whose answer
# fits one datagram here (1,085 bytes of body); libcoap holds a longer
# answer 8 s for block-wise fetching and a role holds at most 1,024 such
# (t0046), so a row of eight would measure that bound, not decisions.
#
#   NANO=./nano BENCHBIN=build/x86_64/bench sh bench/b10-ae.sh
#   BENCH_DURATION=10s for longer rows.  Prints numbers, never fails on one.
#   NANO_BEFORE=/tmp/nano-old: each row also for that binary, measured
#   right before the same row of NANO (an A/B in one run: this machine's
#   load changes from minute to minute, so only rows run side by side
#   compare).  BENCH_MODES="normal full" picks the modes.
set -u
: "${NANO:?set NANO to the nano binary}" "${BENCHBIN:?set BENCHBIN to the bench tools}"
LOAD=$BENCHBIN/coapload
DUR=${BENCH_DURATION:-5s}
HOST=127.9.10.1
AE=coap://$HOST
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nano-b10.XXXXXX") || exit 1
AE_PID=

cleanup() {
	[ -n "$AE_PID" ] && kill "$AE_PID" 2>/dev/null && wait "$AE_PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
mac() { printf 'AA:BB:CC:DD:%02X:%02X' $(($1 / 256)) $(($1 % 256)); }

# 1,000 participants; meeting k (0..99) invites participants 10k..10k+9;
# meetings 0-49 are on now, 50-99 tomorrow (their invitees are denied as
# too early); rooms R0..R19 in two buildings.
make_seed() {
	now_s=$(at '-30 min') now_e=$(at '+2 hours')
	later_s=$(at '+1 day') later_e=$(at '+1 day +1 hour')
	{
		printf '{"participants":[\n'
		i=0
		while [ $i -lt 1000 ]; do
			[ $i -gt 0 ] && printf ',\n'
			printf '{"id":"p%04d","name":"Participant %d","ble":"%s"}' $i $i "$(mac $i)"
			i=$((i + 1))
		done
		printf '],\n"meetings":[\n'
		k=0
		while [ $k -lt 100 ]; do
			[ $k -gt 0 ] && printf ',\n'
			if [ $k -lt 50 ]; then s=$now_s e=$now_e; else s=$later_s e=$later_e; fi
			b=hq; [ $((k % 2)) = 1 ] && b=lab
			printf '{"id":"m%03d","title":"Meeting %d","room":"R%d","building":"%s","organizer":"p%04d","start":"%s","end":"%s","participants":[' \
				$k $k $((k % 20)) $b $((k * 10)) "$s" "$e"
			j=1
			while [ $j -lt 10 ]; do
				[ $j -gt 1 ] && printf ','
				printf '"p%04d"' $((k * 10 + j))
				j=$((j + 1))
			done
			printf '],"content":"# Meeting %d\\n\\nAgenda."}' $k
			k=$((k + 1))
		done
		printf ']}\n'
	} >"$DIR/seed.json"
}

# payloads N: request bodies with N addresses each, cycling over the
# 1,000 participants and 100 unknown devices (1,100 addresses).
payloads() {
	awk -v n="$1" 'BEGIN {
		total = 1100; lines = total / n; if (lines < 1) lines = 1
		for (l = 0; l < lines; l++) {
			printf "{\"ble\":["
			for (a = 0; a < n; a++) {
				i = (l * n + a) % total
				if (i < 1000) addr = sprintf("AA:BB:CC:DD:%02X:%02X", int(i / 256), i % 256)
				else addr = sprintf("66:55:44:33:%02X:%02X", int(i / 256), i % 256)
				printf "%s\"%s\"", (a ? "," : ""), addr
			}
			printf "],\"location\":\"entrance\"}\n"
		}
	}' >"$DIR/auth-$1.txt"
}

# start_ae SYNC [dtls]: plain (--insecure) or DTLS with keys for ae and mcs
start_ae() {
	rm -rf "$DIR/db"
	if [ "${2:-}" = dtls ]; then
		sec="--keys $DIR/keys --listen $HOST:5684"
		AE=coaps://$HOST LOADKEY="-u mcs -k $(sed -n 's/^mcs //p' "$DIR/keys")"
	else
		sec="--insecure --listen $HOST:5683"
		AE=coap://$HOST LOADKEY=
	fi
	# every decision stays in the log: the table below counts them
	"$AE_BIN" ae --db "$DIR/db/ae.db" --backup-dir "$DIR/db/bk" --seed "$DIR/seed.json" \
		--sync "$1" $GROUP --events-keep 1000000000 $sec --log-level warn 2>>"$DIR/ae.log" &
	AE_PID=$!
	n=100
	until "$NANO" coap -t 0.5 get coap://$HOST/health >/dev/null 2>&1; do
		n=$((n - 1))
		if [ $n = 0 ]; then echo "b10-ae: ae did not start:" >&2; cat "$DIR/ae.log" >&2; exit 1; fi
		sleep 0.1
	done
}

# stop_ae: SIGTERM, and how long until the process is gone (it writes
# and verifies a backup first).
stop_ae() {
	t0=$(date +%s%N)
	kill "$AE_PID"
	wait "$AE_PID"
	status=$?
	t1=$(date +%s%N)
	AE_PID=
	STOP_MS=$(((t1 - t0) / 1000000))
	[ $status = 0 ] || echo "b10-ae: ae exited $status after SIGTERM" >&2
}

# cpu_ticks: ae's user+system CPU time so far, in clock ticks.  CPU time
# per decision is what this machine's other load does not change much,
# unlike decisions per second.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AE_PID/stat" 2>/dev/null || echo 0; }
# decisions_made: every decision is one event row (ids only grow)
decisions_made() { sqlite3 "$DIR/db/ae.db" "SELECT coalesce(max(id), 0) FROM events" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

row() { # row LABEL CLIENTS ADDRS
	c0=$(cpu_ticks) d0=$(decisions_made)
	out=$("$LOAD" -c "$2" -d "$DUR" -w 500ms -P "$DIR/auth-$3.txt" $LOADKEY $AE/auth) || true
	c1=$(cpu_ticks) d1=$(decisions_made)
	rps=$(kv rps "$out")
	cpu_us=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v d=$((d1 - d0)) \
		'BEGIN { if (d > 0) printf "%.1f", t * 1e6 / hz / d; else print "?" }')
	errors=$(($(kv errors "$out") + $(kv timeouts "$out")))
	printf '%-13s %7s %9s %12.0f %9.0f %8s %8s %8s %7s %11s\n' "$1" "$2" "$3" \
		"$(awk -v ok="$(kv ok "$out")" -v s="$(kv seconds "$out")" -v n="$3" 'BEGIN { print (s > 0 ? ok * n / s : 0) }')" \
		"$rps" "$(kv p50_ms "$out")" "$(kv p99_ms "$out")" \
		"$(kv max_ms "$out")" "$errors" "$cpu_us"
}

make_seed
"$NANO" keys new ae mcs >"$DIR/keys"
payloads 1
payloads 7
fs=$(df -T "$DIR" 2>/dev/null | awk 'NR == 2 { print $2 }')

echo "b10-ae: POST /auth, 1000 participants, 100 meetings (50 on now), $DUR per row, database on $fs"
printf '%-13s %7s %9s %12s %9s %8s %8s %8s %7s %11s\n' sync clients addrs/req decisions/s req/s p50_ms p99_ms max_ms errors cpu_us/dec
AE_BIN=$NANO
# A mode: SYNC[-ungrouped][-dtls].  -ungrouped: --group-commit off, to
# both binaries (ae groups by default; before this release, with --sync
# full only).
for mode in ${BENCH_MODES:-normal normal-ungrouped full normal-dtls}; do
	sync=${mode%%-*}
	for bin in ${NANO_BEFORE:+before} after; do
		AE_BIN=$NANO label=$mode
		[ $bin = before ] && AE_BIN=$NANO_BEFORE label=$mode-before
		GROUP=
		case $mode in *-ungrouped*) GROUP="--group-commit off" ;; esac
		case $mode in *-dtls) start_ae $sync dtls ;; *) start_ae $sync ;; esac
		for c in 1 16; do
			for a in 1 7; do
				row $label $c $a
			done
		done
		events=$(sqlite3 "$DIR/db/ae.db" "SELECT count(*) FROM events" 2>/dev/null || echo "?")
		# A sanity check on what was measured: 500 of the 1,100 addresses
		# are invited to a meeting on now.
		granted=$(sqlite3 "$DIR/db/ae.db" "SELECT round(100.0 * sum(decision = 'granted') / count(*)) FROM events WHERE kind = 'auth'" 2>/dev/null || echo "?")
		size_kb=$(($(cat "$DIR/db/ae.db" "$DIR/db/ae.db-wal" 2>/dev/null | wc -c) / 1024))
		groups=$("$NANO" coap get $AE/stats 2>/dev/null | sed -n 's/.*"grouped_requests":\([0-9]*\).*"group_commits":\([0-9]*\).*/\1 requests in \2 group commits/p')
		stop_ae
		echo "        $label: ${granted}% of decisions granted (500/1100 expected); ${groups:-group commits not read}; SIGTERM to exit (backup of ${size_kb} KB, $events events, verified) in ${STOP_MS} ms"
	done
done
