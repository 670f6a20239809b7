#!/bin/sh
# b60-model.sh - the model-based test (test/model.py) with a long budget:
# many more seeded sequences of arrivals, changes, restarts and passing
# meetings than test/t0495-model.sh runs, every answer of every role
# compared with the README's model.  Prints how many sequences and
# operations ran, what they exercised, the known divergences (listed in
# model.py with the reason) and any other divergence with a shrunk
# reproduction.  A benchmark: it never fails the build.
#
#   B60_BUDGET=SECS (default 600)   B60_SEEDS=FIRST-LAST (default 1000-1999)
#   B60_OPS=N operations a sequence (default 30)
set -u
: "${NANO:=./nano}"
NET=${B60_NET:-127.252.60}
BUDGET=${B60_BUDGET:-600}
SEEDS=${B60_SEEDS:-1000-1999}
OPS=${B60_OPS:-30}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/b60.XXXXXX")
trap 'rm -rf "$DIR"; exit 130' INT TERM

echo "b60-model: seeded sequences against every role, each answer compared with the README's model"
echo "(budget ${BUDGET} s, seeds $SEEDS, $OPS operations a sequence; test/model.py --seed N --replay replays one)"
first=${SEEDS%-*} last=${SEEDS#*-}
seeds=$(seq -s, "$first" "$last")
if ! test -x /usr/bin/python3; then
	echo "b60-model: no /usr/bin/python3, skipped"
	exit 0
fi
/usr/bin/python3 "$(dirname "$0")/../test/model.py" --nano "$NANO" --net "$NET" --dir "$DIR" \
	--seeds "$seeds" --ops-per-seq "$OPS" --budget "$BUDGET" --shrink-budget 120 >"$DIR/out" 2>&1
st=$?
# one line a sequence that agreed is noise here: the rest is what matters
grep -v "^# seed [0-9]*: [0-9]* operations" "$DIR/out"
if [ $st = 0 ]; then
	echo "b60-model: no divergence beyond the known ones"
	rm -rf "$DIR"
else
	echo "b60-model: divergences found (above, each with a reproduction); the roles' logs are in $DIR"
fi
exit 0
