#!/bin/sh
# The FROM-scratch image on a real Docker engine: one small layer for the
# binary, applets by symlink, and every role container becomes healthy.
. "$(dirname "$0")/lib.sh"

skip_unless_docker_image

TAG=nano-test:t0500-$$
# make test ARCH=armv7|arm64 sets DOCKER_PLATFORM (linux/arm/v7, ...): the
# image is then a Pi's, built and run here through binfmt + qemu-user.
PLATFORM_ARG=${DOCKER_PLATFORM:+--platform=$DOCKER_PLATFORM}
NETNAME=nano-t0500-$$
at_exit "docker rmi -f $TAG"

test_expect_success 'the image builds from the binary alone' '
	mkdir -p ctx/data &&
	cp "$NANO" ctx/nano &&
	docker build -q $PLATFORM_ARG -f "$TEST_DIR/../Dockerfile.scratch" -t $TAG ctx >build.out 2>&1
'

test_expect_success 'the image is at most 2 MB' '
	size=$(docker image inspect $TAG --format "{{.Size}}") &&
	say "image size $size bytes" &&
	test "$size" -le 2097152
'

test_expect_success 'one layer carries the binary; the others are tiny' '
	docker history --no-trunc --format "{{.Size}}|{{.CreatedBy}}" $TAG >hist &&
	test "$(grep -c "COPY file:.* in /nano" hist)" = 1 &&
	test "$(docker image inspect $TAG --format "{{len .RootFS.Layers}}")" -le 3
'

test_expect_success 'the image is for the platform it was built for' '
	echo "${DOCKER_PLATFORM:-$(docker version --format "{{.Server.Os}}/{{.Server.Arch}}")}" >want &&
	docker image inspect $TAG \
	  --format "{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}" >platform &&
	test_cmp want platform
'

test_expect_success 'docker run --list matches the binary' '
	docker run --rm $PLATFORM_ARG $TAG --list >list &&
	"$NANO" --list >want &&
	test_cmp want list
'

test_expect_success 'the applet symlinks exist in /bin and dispatch' '
	docker run --rm $PLATFORM_ARG --entrypoint /bin/coap $TAG --help >out &&
	grep "usage: nano coap" out
'

test_expect_success 'OCI labels, user, stop signal and health check are set' '
	docker image inspect $TAG --format "{{json .Config}}" >cfg &&
	grep "\"org.opencontainers.image.licenses\":\"GPL-2.0-or-later" cfg &&
	grep "\"User\":\"65534:65534\"" cfg &&
	grep "\"StopSignal\":\"SIGTERM\"" cfg &&
	grep "\"Test\":\[\"CMD\",\"/nano\",\"health\"\]" cfg
'

# role: the arguments its container needs to start with simulated hardware
. "$TEST_DIR/sim-roles.sh"

test_expect_success 'every role container becomes healthy, with keys at /run/secrets/nano-keys' '
	nano keys new admin ae mcs ug mrs-R1 pd-entrance bs-entrance >keys &&
	chmod 644 keys &&
	docker network create $NETNAME >/dev/null &&
	at_exit "docker network rm $NETNAME" &&
	started="" &&
	for role in $("$NANO" --list); do
		args=$(role_args $role)
		test -n "$args" || continue
		id=$(docker run -d $PLATFORM_ARG --network $NETNAME --name t0500-$$-$role \
			-v "$TMP/keys:/run/secrets/nano-keys:ro" $TAG $args) || return 1
		at_exit "docker rm -f $id"
		started="$started $role"
	done &&
	say "roles started:$started" &&
	test -n "$started" &&
	for role in $started; do
		n=60
		until test "$(docker inspect --format "{{.State.Health.Status}}" t0500-$$-$role)" = healthy; do
			n=$((n - 1))
			if test $n = 0; then docker logs t0500-$$-$role; return 1; fi
			sleep 0.5
		done
	done
'

test_expect_success 'the roles speak DTLS with their default keys file' '
	docker logs t0500-$$-ae 2>&1 | grep "identity=ae keys=7 dtls" &&
	docker run --rm $PLATFORM_ARG --network $NETNAME -v "$TMP/keys:/run/secrets/nano-keys:ro" \
		$TAG coap -K /run/secrets/nano-keys -u admin get coaps://t0500-$$-ae/participants >out &&
	grep "\"participants\"" out &&
	# the plain port is on the container'"'"'s loopback only
	test_expect_code 3 docker run --rm $PLATFORM_ARG --network $NETNAME $TAG \
		coap -t 2 get coap://t0500-$$-ae/participants
'

test_expect_success 'without keys a role refuses to start; --insecure is plain and says so' '
	test_expect_code 2 docker run --rm $PLATFORM_ARG $TAG ae --db /data/ae.db 2>err &&
	grep "no keys" err &&
	id=$(docker run -d $PLATFORM_ARG $TAG ug --leds sim --route R1=1,2,3 --insecure) &&
	at_exit "docker rm -f $id" &&
	wait_until "docker logs $id 2>&1 | grep -q \"warn ug insecure\"" 100
'

test_done
