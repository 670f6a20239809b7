#!/bin/sh
# b16-scale.sh - the cost curve: what one operation costs as the data grows.
#   ae:  an auth decision (1 client, one known address a request) and ae's
#        RSS (after the decisions, and its peak, which is the seed's JSON
#        being loaded) with 1k, 10k and 100k participants and 100, 1k and
#        10k meetings (10 invitees each, half on now).
#   mcs: a room sighting of an address mcs already tracks, and memory per
#        track, with 1k, 10k and 100k tracks (each made by a room sighting
#        of a new address that ae denies).
# Flat or logarithmic growth per operation is the goal; the table says
# where it is not.
#
#   NANO=./nano BENCHBIN=build/x86_64/bench sh bench/b16-scale.sh
#   BENCH_DURATION=5s for longer rows.  Prints numbers, never fails on one.
set -u
: "${NANO:?set NANO to the nano binary}" "${BENCHBIN:?set BENCHBIN to the bench tools}"
LOAD=$BENCHBIN/coapload
DUR=${BENCH_DURATION:-2s}
NET=127.9.16
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nano-b16.XXXXXX") || exit 1
PIDS=

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$1/status; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$1/status; }

# wait_health URI
wait_health() {
	n=600
	until "$NANO" coap -t 0.5 get "$1/health" >/dev/null 2>&1; do
		n=$((n - 1))
		if [ $n = 0 ]; then echo "b16-scale: $1 did not start" >&2; cat "$DIR"/*.log >&2; exit 1; fi
		sleep 0.1
	done
}

# seed P M: P participants (addresses 02:00:00:XX:XX:XX), M meetings in 50
# rooms, meeting k inviting participants 10k..10k+9 (mod P), even k on now
seed() {
	awk -v p="$1" -v m="$2" -v s="$(at '-30 min')" -v e="$(at '+2 hours')" \
	    -v ls="$(at '+1 day')" -v le="$(at '+1 day +1 hour')" 'BEGIN {
		printf "{\"participants\":[\n"
		for (i = 0; i < p; i++)
			printf "%s{\"id\":\"p%06d\",\"name\":\"P %d\",\"ble\":\"02:00:00:%02X:%02X:%02X\"}",
			       (i ? ",\n" : ""), i, i, int(i / 65536), int(i / 256) % 256, i % 256
		printf "],\n\"meetings\":[\n"
		for (k = 0; k < m; k++) {
			printf "%s{\"id\":\"m%05d\",\"title\":\"M %d\",\"room\":\"R%d\",\"start\":\"%s\",\"end\":\"%s\",\"participants\":[",
			       (k ? ",\n" : ""), k, k, k % 50, (k % 2 ? ls : s), (k % 2 ? le : e)
			for (j = 0; j < 10; j++)
				printf "%s\"p%06d\"", (j ? "," : ""), (k * 10 + j) % p
			printf "]}"
		}
		printf "]}\n" }' >"$DIR/seed.json"
}

ae_row() { # ae_row P M
	seed "$1" "$2"
	rm -rf "$DIR/db"
	t0=$(date +%s%N)
	"$NANO" ae --db "$DIR/db/ae.db" --backup-dir "$DIR/db/bk" --seed "$DIR/seed.json" \
		--insecure --listen $NET.1:5683 --log-level warn 2>>"$DIR/ae.log" &
	pid=$!
	PIDS="$PIDS $pid"
	wait_health coap://$NET.1
	load_ms=$((($(date +%s%N) - t0) / 1000000))
	awk -v p="$1" 'BEGIN { srand(3); for (i = 0; i < 2000; i++) { n = int(rand() * p)
		printf "{\"ble\":[\"02:00:00:%02X:%02X:%02X\"],\"location\":\"R1\"}\n", int(n / 65536), int(n / 256) % 256, n % 256 } }' >"$DIR/auth.txt"
	out=$("$LOAD" -c 1 -d "$DUR" -w 300ms -P "$DIR/auth.txt" coap://$NET.1/auth) || true
	size=$(($(cat "$DIR/db/ae.db" "$DIR/db/ae.db-wal" 2>/dev/null | wc -c) / 1024))
	printf '%8s %8s %10.0f %8s %8s %9s %9s %8s %7s\n' "$1" "$2" "$(kv rps "$out")" \
		"$(kv p50_ms "$out")" "$(kv p99_ms "$out")" "$(rss $pid)" "$(hwm $pid)" "$size" "$load_ms"
	kill $pid; wait $pid 2>/dev/null
}

echo "b16-scale: ae, POST /auth of one known address (1 client, $DUR), as the database grows"
printf '%8s %8s %10s %8s %8s %9s %9s %8s %7s\n' partic. meetings decisions/s p50_ms p99_ms RSS_kB peak_kB db_kB seed_ms
ae_row 1000 100
ae_row 10000 1000
ae_row 100000 10000

# mcs: ae empty (every room sighting is denied), no other peers
rm -rf "$DIR/db"
"$NANO" ae --db "$DIR/db/ae.db" --backup-dir "$DIR/db/bk" --insecure --listen $NET.1:5683 \
	--log-level warn --events-keep 1000000 2>>"$DIR/ae.log" &
AE=$!
PIDS="$PIDS $AE"
wait_health coap://$NET.1

echo
echo "b16-scale: mcs, a room sighting (POST /ble, 1 client, $DUR) of an address it tracks, as tracks grow"
printf '%8s %10s %8s %8s %12s %14s %12s\n' tracks sightings/s p50_ms p99_ms RSS_kB kB/track counts_ms
for t in 1000 10000 100000; do
	"$NANO" mcs --insecure --listen $NET.2:5683 --ae coap://$NET.1 --ug coap://$NET.3 --bs "" --bs-room "" \
		--pd-room "" --mrs "" --max-tracks 200000 --timeline 1000 --log-level warn \
		2>>"$DIR/mcs.log" &
	pid=$!
	PIDS="$PIDS $pid"
	wait_health coap://$NET.2
	base=$(rss $pid)
	# t new addresses, one a request (each a track, asked about and denied)
	"$LOAD" -c 16 -n $t -p '{"location":"R1","devices":[{"addr":"{mac}","rssi":-50}]}' \
		coap://$NET.2/ble >/dev/null || true
	n=0
	until [ "$("$NANO" coap get "coap://$NET.2/participants?state=denied&limit=0" |
	          sed -n 's/.*"denied":\([0-9]*\).*/\1/p')" = $t ] || [ $n -ge 600 ]; do
		sleep 0.1; n=$((n + 1))
	done
	per=$(awk -v a="$(rss $pid)" -v b="$base" -v t=$t 'BEGIN { printf "%.2f", (a - b) / t }')
	c0=$(date +%s%N)
	"$NANO" coap get "coap://$NET.2/participants?limit=0" >/dev/null
	counts_ms=$((($(date +%s%N) - c0) / 1000000))
	# sightings of tracked addresses, at random (coapload's {mac} of 0..t-1)
	awk -v t=$t 'BEGIN { srand(5); for (i = 0; i < 2000; i++) { n = int(rand() * t)
		printf "{\"location\":\"R1\",\"devices\":[{\"addr\":\"02:00:%02X:%02X:%02X:%02X\",\"rssi\":-50}]}\n",
		       int(n / 16777216) % 256, int(n / 65536) % 256, int(n / 256) % 256, n % 256 } }' >"$DIR/seen.txt"
	out=$("$LOAD" -c 1 -d "$DUR" -w 300ms -P "$DIR/seen.txt" coap://$NET.2/ble) || true
	printf '%8s %10.0f %8s %8s %12s %14s %12s\n' $t "$(kv rps "$out")" "$(kv p50_ms "$out")" \
		"$(kv p99_ms "$out")" "$(rss $pid)" "$per" "$counts_ms"
	kill $pid; wait $pid 2>/dev/null
done
