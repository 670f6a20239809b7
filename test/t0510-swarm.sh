#!/bin/sh
# stack.yml on a real single-node Swarm, with stack.sim.yml: every service
# becomes healthy; the smart-meeting scenario is driven from outside with
# `docker exec ... /nano coap`, and the room's kiosk page shows it on the
# port the stack publishes on the node; removing the ae service leaves its
# SIGTERM backup in the volume, and a redeploy finds the data again.
. "$(dirname "$0")/lib.sh"

skip_unless_docker_image

ROOT=$TEST_DIR/..
STACK=nanot$$
export NANO_IMAGE=nano-test:t0510-$$
# mrs's kiosk page, published on the node: a port free now
NANO_KIOSK_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
export NANO_KIOSK_PORT

# container ID of a service's running task
task() {
	docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" \
		--filter status=running | head -n 1
}
# coap SERVICE ARGS...: nano coap inside that service's container, as the
# admin identity of that service (its secret holds that line)
coap() {
	svc=$1
	shift
	docker exec "$(task $svc)" /nano coap -K /run/secrets/nano-keys -u admin-$svc "$@"
}
all_healthy() {
	for svc in ae mcs mrs pd-entrance bs-entrance pd-room bs-room ug; do
		id=$(task $svc)
		test -n "$id" || return 1
		test "$(docker inspect --format "{{.State.Health.Status}}" "$id")" = healthy || return 1
	done
}
deploy() {
	(cd "$ROOT" && NANO_SECRETS=${STACK}- docker stack deploy -c stack.yml -c stack.sim.yml $STACK)
}

# The secrets: one keys file for the building, each service given the
# lines it needs (README, "Keys"; test/stack-keys.sh).
. "$TEST_DIR/stack-keys.sh"
secrets() {
	stack_keys building.keys &&
	for svc in $STACK_SERVICES; do
		at_exit "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do docker secret rm ${STACK}-nano-keys-$svc && break; sleep 1; done"
	done &&
	stack_secrets building.keys ${STACK}-
}

test_expect_success 'setup: image, swarm, node labels' '
	mkdir -p ctx/data &&
	cp "$NANO" ctx/nano &&
	docker build -q -f "$ROOT/Dockerfile.scratch" -t $NANO_IMAGE ctx &&
	at_exit "docker rmi -f $NANO_IMAGE" &&
	if test "$(docker info --format "{{.Swarm.LocalNodeState}}")" != active; then
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null &&
		at_exit "docker swarm leave --force"
	fi &&
	docker node update --label-add nano.entrance=true --label-add nano.room=true \
		--label-add nano.core=true --label-add nano.guide=true "$(docker info --format "{{.Swarm.NodeID}}")" &&
	secrets
'

test_expect_success 'docker stack deploy: every service becomes healthy' '
	at_exit "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do docker volume rm ${STACK}_ae-data && break; sleep 1; done" &&
	at_exit "docker stack rm $STACK" &&
	deploy &&
	wait_until all_healthy 1800
'

START=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)

test_expect_success 'the meeting is created in ae from outside' '
	for p in alice:01 bob:02; do
		id=${p%:*} key=AA:BB:CC:DD:EE:${p#*:}
		coap ae post coaps://127.0.0.1/participants \
			"{\"id\":\"$id\",\"name\":\"$id\",\"ble\":\"$key\"}" || return 1
	done &&
	coap ae post coaps://127.0.0.1/meetings "{\"id\":\"m1\",\"title\":\"Kickoff\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$START\",\"end\":\"$END\",\"participants\":[\"alice\",\"bob\"],\"content\":\"# Kickoff agenda\"}" &&
	coap ae get coaps://127.0.0.1/meetings/m1 >out &&
	grep Kickoff out
'

room_shows_alice() {
	coap mrs get coaps://127.0.0.1/display >display &&
	grep "Kickoff agenda" display && grep alice display
}
alice_guided() {
	coap mcs get coaps://127.0.0.1/participants >parts &&
	grep -E "\"participant\":\"alice\".*\"state\":\"(guiding|arrived|presenting)\"" parts
}

test_expect_success 'alice arrives: motion + her key at the entrance, guided, shown in the room' '
	coap bs-entrance post coaps://127.0.0.1/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:01\",\"rssi\":-50,\"name\":\"alice\",\"ttl_ms\":20000}" &&
	coap pd-entrance post coaps://127.0.0.1/sim/motion "{\"motion\":true}" &&
	wait_until alice_guided 400 &&
	coap ug get coaps://127.0.0.1/guide | grep alice &&
	coap bs-room post coaps://127.0.0.1/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:01\",\"rssi\":-40,\"name\":\"alice\",\"ttl_ms\":20000}" &&
	wait_until room_shows_alice 400
'

backup_in_volume() {
	rm -rf backup &&
	cid=$(docker create -v ${STACK}_ae-data:/data $NANO_IMAGE --list) &&
	docker cp $cid:/data/backup ./backup >/dev/null 2>&1;
	docker rm $cid >/dev/null;
	ls backup/*.db
}

test_expect_success 'the kiosk page on the published port: the meeting, with the token only' '
	token=$(sed -n "s/^kiosk-R1 //p" building.keys) &&
	curl -sS --max-time 5 -o /dev/null -w "%{http_code}" http://127.0.0.1:$NANO_KIOSK_PORT/ >code &&
	test "$(cat code)" = 403 &&
	curl -sS -N --max-time 2 "http://127.0.0.1:$NANO_KIOSK_PORT/events?token=$token" >ev;
	grep "Kickoff agenda" ev && grep "\"participant\":\"alice\"" ev
'

test_expect_success 'docker service rm ae: its SIGTERM backup is in the volume' '
	docker service rm ${STACK}_ae &&
	wait_until backup_in_volume 600 &&
	f=$(ls backup/*.db | tail -n 1) &&
	test "$(sqlite3 "$f" "PRAGMA integrity_check")" = ok &&
	test "$(sqlite3 "$f" "SELECT count(*) FROM participants")" = 2
'

test_expect_success 'a redeploy brings ae back with its data' '
	deploy &&
	wait_until all_healthy 1800 &&
	coap ae get coaps://127.0.0.1/participants/alice >out &&
	grep AA:BB:CC:DD:EE:01 out &&
	coap ae get coaps://127.0.0.1/meetings/m1 | grep Kickoff
'

test_done
