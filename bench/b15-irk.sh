#!/bin/sh
# b15-irk.sh - what resolving phones' addresses costs ae: POST /auth
# decisions per second and latency for resolvable private addresses (RPAs)
# ae has not seen before, with 100, 1,000 and 10,000 IRKs in the database,
# against cache hits (an RPA resolved lately) and a participant's own
# address.  A new RPA is resolved by trying the stored IRKs in turn
# (Bluetooth Core Vol 3 Part H 2.2.2), so its cost grows with the number
# of IRKs: "resolvable" RPAs belong to a random participant (half the
# IRKs tried on average), "nobody's" RPAs to an IRK ae does not have
# (every IRK tried, then denied).  One client, closed loop: p50 is the
# cost of one decision, including its committed event row.
#
#   NANO=./nano BENCHBIN=build/x86_64/bench sh bench/b15-irk.sh
#   BENCH_DURATION=10s for longer rows.  Prints numbers, never fails on one.
set -u
: "${NANO:?set NANO to the nano binary}" "${BENCHBIN:?set BENCHBIN to the bench tools}"
LOAD=$BENCHBIN/coapload
DUR=${BENCH_DURATION:-3s}
HOST=127.9.15.1
AE=coap://$HOST
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nano-b15.XXXXXX") || exit 1
AE_PID=
# distinct new addresses per row: more than ae's cache of 512, cycled, so
# each is gone from the cache before it comes round again (every one a miss)
NEW=1500

cleanup() {
	[ -n "$AE_PID" ] && kill "$AE_PID" 2>/dev/null && wait "$AE_PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# irks N SEED: N IRKs (32 hex digits), a line each, reproducible
irks() {
	awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed)
		for (i = 0; i < n; i++) { s = ""
			for (b = 0; b < 16; b++) s = s sprintf("%02x", int(rand() * 256))
			print s } }'
}

# seed N: N participants, each with an IRK, all invited to a meeting on
# now (one per 1,000 participants, the most a meeting invites)
seed() {
	irks "$1" 1 >"$DIR/irks"
	awk -v s="$(at '-30 min')" -v e="$(at '+2 hours')" '
		{ printf "%s{\"id\":\"p%05d\",\"name\":\"P %d\",\"ble\":\"AA:BB:CC:%02X:%02X:%02X\",\"irk\":\"%s\"}",
		         (NR > 1 ? ",\n" : "{\"participants\":[\n"), NR, NR,
		         int(NR / 65536), int(NR / 256) % 256, NR % 256, $1
		  m = int((NR - 1) / 1000)
		  who[m] = who[m] (who[m] != "" ? "," : "") sprintf("\"p%05d\"", NR) }
		END { printf "],\n\"meetings\":["
		  for (k = 0; k <= m; k++)
		    printf "%s{\"id\":\"m%d\",\"title\":\"All hands %d\",\"room\":\"R1\",\"organizer\":\"p%05d\",\"start\":\"%s\",\"end\":\"%s\",\"participants\":[%s]}",
		      (k ? ",\n" : ""), k, k, k * 1000 + 1, s, e, who[k]
		  printf "]}\n" }
	' "$DIR/irks" >"$DIR/seed.json"
}

# rpas FILE COUNT IRKFILE: COUNT RPAs, each from a random IRK of IRKFILE,
# as /auth bodies (one address a request)
rpas() {
	awk -v n="$2" 'BEGIN { srand(7) } { k[NR] = $1 } END {
		for (i = 0; i < n; i++) printf "%s %02x:%02x:%02x\n", k[int(rand() * NR) + 1],
			64 + int(rand() * 64), int(rand() * 256), int(rand() * 256) }' "$3" |
	while read -r irk prand; do
		printf '{"ble":["%s"],"location":"entrance"}\n' "$("$NANO" irk --rpa "$irk" "$prand")"
	done >"$1"
}

start_ae() {
	rm -rf "$DIR/db"
	"$NANO" ae --db "$DIR/db/ae.db" --backup-dir "$DIR/db/bk" --seed "$DIR/seed.json" \
		--events-keep 1000000000 --insecure --listen $HOST:5683 --log-level warn 2>>"$DIR/ae.log" &
	AE_PID=$!
	tries=300
	until "$NANO" coap -t 0.5 get $AE/health >/dev/null 2>&1; do
		tries=$((tries - 1))
		if [ $tries = 0 ]; then echo "b15-irk: ae did not start:" >&2; cat "$DIR/ae.log" >&2; exit 1; fi
		sleep 0.1
	done
}

stop_ae() {
	kill "$AE_PID"
	wait "$AE_PID"
	AE_PID=
}

kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
stat() { "$NANO" coap get $AE/stats | tr ',{}' '\n\n\n' | sed -n "s/^\"$1\"://p"; }

row() { # row IRKS LABEL PAYLOADS
	scans0=$(stat rpa_scans) hits0=$(stat rpa_cache_hits)
	out=$("$LOAD" -c 1 -d "$DUR" -w 300ms -P "$3" $AE/auth) || true
	printf '%6s  %-24s %10.0f %8s %8s %8s %7s %7s %6s\n' "$1" "$2" "$(kv rps "$out")" \
		"$(kv p50_ms "$out")" "$(kv p99_ms "$out")" "$(kv max_ms "$out")" \
		$(($(stat rpa_scans) - scans0)) $(($(stat rpa_cache_hits) - hits0)) \
		$(($(kv errors "$out") + $(kv timeouts "$out")))
}

echo "b15-irk: POST /auth of one address, 1 client, $DUR per row; every decision a committed event row"
printf '%6s  %-24s %10s %8s %8s %8s %7s %7s %6s\n' IRKs address decisions/s p50_ms p99_ms max_ms scans hits errors
irks 100 99 >"$DIR/strangers"
for n in 100 1000 10000; do
	seed $n
	rpas "$DIR/new.txt" $NEW "$DIR/irks"
	rpas "$DIR/nobody.txt" $NEW "$DIR/strangers"
	head -n 200 "$DIR/new.txt" >"$DIR/hits.txt"
	awk 'NR <= 200 { printf "{\"ble\":[\"AA:BB:CC:%02X:%02X:%02X\"],\"location\":\"entrance\"}\n", int(NR / 65536), int(NR / 256) % 256, NR % 256 }' \
		"$DIR/irks" >"$DIR/own.txt"
	start_ae
	row $n "own address" "$DIR/own.txt"
	row $n "RPA, cache hit" "$DIR/hits.txt"
	row $n "new RPA, resolvable" "$DIR/new.txt"
	row $n "new RPA, nobody's" "$DIR/nobody.txt"
	stop_ae
done
