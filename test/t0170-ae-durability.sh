#!/bin/sh
# Durability: writers add participants as fast as they can; the AE is
# killed with SIGKILL mid-stream; after a restart every participant whose
# POST was answered 2.01 is there.  Run with --sync normal (the default:
# survives a crash of the process) and --sync full.
. "$(dirname "$0")/lib.sh"

AE=coap://$NET.1
WRITERS=4

# writer K: POST participants wK-1, wK-2, ... until the file "stop"
# exists; an id goes into acked.K only after its POST was answered 2.xx.
cat >writer.sh <<'EOF'
k=$1
i=0
while [ ! -e stop ]; do
	i=$((i + 1))
	if "$NANO" coap -t 2 post "$AE/participants" \
		"{\"id\":\"w$k-$i\",\"name\":\"Writer $k number $i\",\"ble\":\"$(printf '02:00:%02X:%02X:%02X:%02X' $k $((i / 65536 % 256)) $((i / 256 % 256)) $((i % 256)))\"}" \
		>/dev/null 2>&1; then
		echo "w$k-$i" >>acked.$k
	fi
done
EOF

# crash_run SYNC: one round against a fresh database.
crash_run() {
	rm -rf db stop acked.* &&
	start_bg ae "$NANO" ae --db $TMP/db/ae.db --backup-dir $TMP/db/bk --sync $1 \
		--listen $NET.1:5683 --log-level warn &&
	wait_for_health $AE &&
	k=1 && while [ $k -le $WRITERS ]; do
		start_bg w$k env AE=$AE sh writer.sh $k
		k=$((k + 1))
	done &&
	sleep 3 &&
	stop_bg ae KILL &&
	test "$ae_status" = 137 &&
	touch stop &&
	k=1 && while [ $k -le $WRITERS ]; do
		eval "wait \$w${k}_pid"
		k=$((k + 1))
	done &&
	cat acked.* | sort >acked &&
	echo "# $(wc -l <acked) acknowledged before the kill" &&
	test "$(wc -l <acked)" -ge 40 &&
	start_bg ae "$NANO" ae --db $TMP/db/ae.db --backup-dir $TMP/db/bk --listen $NET.1:5683 &&
	wait_for_health $AE &&
	! grep RESTORED ae.log &&
	sqlite3 db/ae.db "SELECT id FROM participants" | sort >stored &&
	comm -23 acked stored >lost &&
	test ! -s lost &&
	test "$(sqlite3 db/ae.db "PRAGMA integrity_check")" = ok &&
	nano coap get $AE/stats | grep "\"participants\":$(wc -l <stored)," &&
	stop_bg ae && test "$ae_status" = 0
}

test_expect_success 'kill -9 with --sync normal loses no acknowledged write' '
	crash_run normal
'

test_expect_success 'kill -9 with --sync full loses no acknowledged write' '
	crash_run full
'

test_expect_success 'no sanitizer reports' '
	! grep -E "AddressSanitizer|runtime error" ae.log
'

test_done
