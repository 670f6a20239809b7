#!/bin/sh
# b50-containers.sh - the footprint of nano on a real Docker engine, beside
# the paper's Tables II-IV (image sizes) and Figs. 6-7 (deployment and
# initiation times).  Prints numbers; never fails on a number.
#
#   image size; image build time (docker build --no-cache, the paper's
#   "deployment" includes building the image); per role: docker run ->
#   answering /health and -> Docker's "healthy" (probe every 200 ms);
#   docker stack deploy -> all services healthy; idle memory per role
#   container (docker stats).  Medians of RUNS (default 5) runs.
set -u
NANO=${NANO:-./nano}
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if ! docker info >/dev/null 2>&1; then
	echo "b50: no Docker engine answers; skipped"
	exit 0
fi
if ! file -L "$NANO" | grep -q "statically linked"; then
	echo "b50: $NANO is not static; skipped"
	exit 0
fi

TMP=$(mktemp -d)
TAG=nano-bench:b50-$$
NET=nano-b50-$$
CIDS=""
cleanup() {
	for c in $CIDS; do docker rm -f "$c" >/dev/null 2>&1; done
	docker network rm $NET >/dev/null 2>&1
	docker rmi -f $TAG >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

. "$ROOT/test/sim-roles.sh"
# Every role runs DTLS with its default keys file; the bench asks as admin.
"$NANO" keys new admin ae mcs ug mrs-R1 pd-entrance bs-entrance >"$TMP/keys" && chmod 644 "$TMP/keys"

mkdir -p "$TMP/ctx/data" && cp "$NANO" "$TMP/ctx/nano"
builds=""
for i in $(seq "$RUNS"); do
	t0=$(ms)
	docker build -q --no-cache -f "$ROOT/Dockerfile.scratch" -t $TAG "$TMP/ctx" >/dev/null 2>&1 || exit 1
	builds="$builds $(( $(ms) - t0 ))"
done
size=$(docker image inspect $TAG --format '{{.Size}}')
docker network create $NET >/dev/null

echo "== nano containers (median of $RUNS runs)"
printf '%-28s %14s   %s\n' "what" "nano" "paper (multi-stage, Table IV / Figs. 6-7)"
printf '%-28s %11s KB   %s\n' "image size, all six roles" "$((size / 1024))" "73.9-137.1 MB per service, + MySQL"
printf '%-28s %11s ms   %s\n' "image build (no cache)" "$(echo $builds | tr ' ' '\n' | median)" "52-65 s deployment per service"

for role in $("$NANO" --list); do
	args=$(role_args "$role")
	[ -n "$args" ] || continue
	up="" healthy="" rss=""
	for i in $(seq "$RUNS"); do
		t0=$(ms)
		c=$(docker run -d --network $NET --health-interval 200ms --health-start-period 0s \
			-v "$TMP/keys:/run/secrets/nano-keys:ro" $TAG $args) || continue
		CIDS="$CIDS $c"
		ip=$(docker inspect -f "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}" "$c")
		until "$NANO" coap -t 0.2 -K "$TMP/keys" -u admin get "coaps://$ip/health" >/dev/null 2>&1; do :; done
		t1=$(ms)
		until [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ]; do sleep 0.02; done
		t2=$(ms)
		up="$up $((t1 - t0))"
		healthy="$healthy $((t2 - t0))"
		sleep 1
		rss="$rss $(docker stats --no-stream --format '{{.MemUsage}}' "$c" | awk '{
			v = $1 + 0
			if ($1 ~ /GiB/) v *= 1048576; else if ($1 ~ /MiB/) v *= 1024
			else if ($1 ~ /[0-9]B$/ && $1 !~ /KiB/) v /= 1024
			printf "%d", v }')"
		docker rm -f "$c" >/dev/null
		CIDS=$(echo "$CIDS" | sed "s/ $c//")
	done
	printf '%-28s %11s ms   %s\n' "$role: run -> answering" "$(echo $up | tr ' ' '\n' | median)" "2-4 s initiation"
	printf '%-28s %11s ms\n' "$role: run -> healthy" "$(echo $healthy | tr ' ' '\n' | median)"
	printf '%-28s %11s KB   %s\n' "$role: idle memory" "$(echo $rss | tr ' ' '\n' | median)" "Table IV \"Run\": 1.5-2.4 MB"
done

# The whole stack on a single-node Swarm (only with all six roles).
for role in ae mcs mrs pd bs ug; do
	"$NANO" --list | grep -qx $role || { echo "stack deploy: skipped (no $role yet)"; exit 0; }
done
SWARM_MINE=0
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null && SWARM_MINE=1
fi
docker node update --label-add nano.entrance=true --label-add nano.room=true \
	--label-add nano.core=true --label-add nano.guide=true "$(docker info --format "{{.Swarm.NodeID}}")" >/dev/null
deploys=""
. "$ROOT/test/stack-keys.sh"
stack_keys "$TMP/building.keys"
# mrs publishes its kiosk page on the node: a port free now, not 8080
NANO_KIOSK_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
export NANO_KIOSK_PORT
for i in $(seq "$RUNS"); do
	st=nanob$$x$i
	stack_secrets "$TMP/building.keys" ${st}-
	t0=$(ms)
	(cd "$ROOT" && NANO_SECRETS=${st}- NANO_IMAGE=$TAG docker stack deploy -c stack.yml -c stack.sim.yml $st >/dev/null 2>&1)
	n=0
	while [ $n -lt 1200 ]; do
		healthy=$(docker ps --filter "label=com.docker.stack.namespace=$st" --filter health=healthy -q | wc -l)
		[ "$healthy" -ge 8 ] && break
		sleep 0.05
		n=$((n + 1))
	done
	deploys="$deploys $(( $(ms) - t0 ))"
	docker stack rm $st >/dev/null 2>&1
	while docker network ls --filter "label=com.docker.stack.namespace=$st" -q | grep -q .; do sleep 0.5; done
	for v in $(docker volume ls -q --filter "label=com.docker.stack.namespace=$st"); do
		until docker volume rm "$v" >/dev/null 2>&1; do sleep 0.5; done
	done
	for sec in $(docker secret ls -q --filter "name=${st}-nano-keys-"); do
		until docker secret rm "$sec" >/dev/null 2>&1; do sleep 0.5; done
	done
done
printf '%-28s %11s ms   %s\n' "stack deploy -> 8 healthy" "$(echo $deploys | tr ' ' '\n' | median)" "52-65 s per service (Fig. 6)"
[ $SWARM_MINE = 1 ] && docker swarm leave --force >/dev/null
exit 0
