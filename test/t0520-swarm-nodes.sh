#!/bin/sh
# stack.yml with stack.sim.yml on a Swarm of four nodes made on this
# machine: four dockerd of the test's own, each in its own network
# namespace with its own address, hostname, data-root, exec-root and
# containerd, joined over a bridge into one swarm.  The node labels place
# every role on its node (the entrance, room R1, room R2 of
# test/stack-room2.yml, the core); the roles reach each other by name
# (endpoint_mode dnsrr) over the overlay network between the nodes; the
# scenario is driven with `docker exec ... nano coap` on the node that runs
# each task.  Then a node is lost: R1's dockerd stops (its containers with
# it), mcs marks the room's peers down, the entrance keeps guiding and R2
# keeps working, and when the dockerd starts again its tasks come back and
# R1 works without a redeploy.  Last the core's dockerd stops while ae
# holds the meetings; when it returns ae has its data (the volume, with
# the SIGTERM backup) and another person's flow completes.
#
# The host's own dockerd is not used: nothing of it is read or changed.
# There is no registry: the image is built on the manager and reaches the
# other nodes with `docker save | docker load`; the stack is deployed with
# --resolve-image never.  Swarm's VIP and ingress need IPVS, which a kernel
# may lack: the stack uses dnsrr and host-mode ports only.
#
# The times from the deploy to every task healthy and from a node's return
# to its room working again are printed (stderr) at the end.
. "$(dirname "$0")/lib.sh"

test_lazy_prereq ROOT_USER 'test "$(id -u)" = 0' 'root: network namespaces and dockerd'
test_lazy_prereq DOCKERD 'command -v dockerd && command -v containerd && command -v docker' \
	'dockerd, containerd and the docker client: Debian docker.io'
test_lazy_prereq NSENTER 'command -v ip && command -v nsenter && command -v unshare' \
	'ip, nsenter and unshare: Debian iproute2 util-linux'
test_lazy_prereq SQLITE3 'command -v sqlite3' 'sqlite3: Debian sqlite3'
skip_all_unless ROOT_USER,DOCKERD,NSENTER,STATIC,PYTHON3,CURL,SQLITE3
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
# make test ARCH=armv7|arm64 runs the Pi builds under qemu-user: four
# daemons of emulated roles would take minutes; placement is no different
test -z "${QEMU_CPU:-}" || skip_all "the several-node swarm runs on the native build only"

ROOT=$TEST_DIR/..
# Names in the kernel's namespaces are global: the pid keeps two runs apart
# (a link's name is at most 15 bytes: nnPID + the node's last octet + s)
P=nn$$
SW=$P-sw
NODES="entrance room room2 core"
SUBNET=198.18.20
D=$TMP/nodes
STACK=nanot$$
export NANO_IMAGE=nano-test:t0520-$$

addr_of() {
	case $1 in
	entrance) echo $SUBNET.11 ;;
	room)     echo $SUBNET.12 ;;
	room2)    echo $SUBNET.14 ;;
	core)     echo $SUBNET.13 ;;
	esac
}

# Whether this kernel gives what a node needs: a network namespace, a veth
# pair and a VXLAN link (the overlay network); said exactly when not.
probe() {
	ip netns add $P-probe 2>probe.err || return 1
	ip netns exec $P-probe ip link add vx0 type vxlan id 4242 dstport 4789 dev lo 2>>probe.err &&
	ip netns exec $P-probe ip link add va type veth peer name vb 2>>probe.err
	st=$?
	ip netns del $P-probe
	return $st
}
probe || skip_all "this kernel cannot make the nodes' network: $(tr '\n' ' ' <probe.err)"

# wait_secs 'CMD' SECONDS: eval CMD every half second until it succeeds;
# these ask daemons, so not as often as wait_until
wait_secs() {
	deadline=$(( $(date +%s) + $2 ))
	until eval "$1"; do
		test "$(date +%s)" -lt $deadline || { echo "timed out ($2 s) waiting for: $1" >&2; return 1; }
		sleep 0.5
	done
}

# dock NODE ARGS...: the docker client of that node's daemon (plain
# `docker` speaks to the manager, the entrance node)
dock() {
	h=$1
	shift
	docker -H unix://$D/$h/docker.sock "$@"
}
export DOCKER_HOST=unix://$D/entrance/docker.sock

# The network: one bridge in a namespace of its own (the "switch", so no
# firewall of the host is in the way), a veth from it into each node, and
# on the switch the LAN's DNS server, which knows no name (the nodes cannot
# reach the host's: without one, a name no task answers any more -- the
# services of a node that is down -- waits out musl's 5 s lookup timeout;
# the role's loop goes on (src/resolve.c, test/t0055), but its peer stays
# unresolved that long instead of being known down at once).
net_up() {
	ip netns add $SW &&
	ip -n $SW link add br0 type bridge &&
	ip -n $SW addr add $SUBNET.1/24 dev br0 &&
	ip -n $SW link set br0 up &&
	start_bg dns ip netns exec $SW /usr/bin/python3 "$TEST_DIR/dns-nxdomain.py" $SUBNET.1 &&
	for h in $NODES; do
		ip netns add $P-$h &&
		v=$P$(addr_of $h | cut -d. -f4) &&
		ip link add $v type veth peer name ${v}s &&
		ip link set ${v}s netns $SW &&
		ip -n $SW link set ${v}s master br0 up &&
		ip link set $v netns $P-$h &&
		ip -n $P-$h link set $v name eth0 &&
		ip -n $P-$h addr add $(addr_of $h)/24 dev eth0 &&
		ip -n $P-$h link set eth0 up &&
		ip -n $P-$h link set lo up || return 1
	done
}

# dockerd_start NODE: its daemon, in its namespace, with a hostname of its
# own (the node's name in the swarm); vfs needs nothing of the host's
# filesystem and the image is 1 MB.  It starts its own containerd under
# its exec-root; the namespaces keep the containerds' content apart.
dockerd_start() {
	mkdir -p $D/$1/data $D/$1/exec &&
	echo '{}' >$D/$1/daemon.json &&
	start_bg dockerd_$1 unshare --uts sh -c "hostname $1 && exec nsenter --net=/run/netns/$P-$1 \
		dockerd --config-file $D/$1/daemon.json --data-root $D/$1/data \
		--exec-root $D/$1/exec --pidfile $D/$1/docker.pid -H unix://$D/$1/docker.sock \
		--storage-driver vfs --dns $SUBNET.1 --containerd-namespace $P-$1 \
		--containerd-plugins-namespace $P-$1-plugins --log-level warn" &&
	wait_secs "dock $1 version >/dev/null 2>&1" 30
}

# dockerd_stop NODE: SIGTERM, as a node's shutdown: the daemon stops every
# container (each gets its stop signal and grace) and its containerd
dockerd_stop() {
	STOP_WAIT=90 stop_bg dockerd_$1
}

# At exit: every daemon stopped, then whatever of theirs is left (a shim
# or containerd named by its socket under $D, a mount under $D), the
# namespaces (and with them the veths and the bridge); $TMP goes with lib.sh.
nodes_down() {
	for h in $NODES; do
		eval "pid=\${dockerd_${h}_pid:-}"
		test -n "$pid" && running "$pid" && dockerd_stop $h
	done
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <$p/cmdline 2>/dev/null | grep -q "$D/" && kill -KILL ${p#/proc/}
	done
	grep " $D/" /proc/self/mountinfo | cut -d" " -f5 | sort -r | while read -r m; do
		umount -l "$m"
	done
	for h in $NODES; do
		ip netns del $P-$h
	done
	ip netns del $SW
	# the shims' socket dir, if the first containerd of this machine made it
	test -n "$RUN_CONTAINERD_NEW" && rmdir /run/containerd/s /run/containerd
}
RUN_CONTAINERD_NEW=$(test -d /run/containerd || echo 1)

# node_of SERVICE: the node its running task is on; cid SERVICE: that
# task's container ID on that node
node_of() {
	docker service ps ${STACK}_$1 --filter desired-state=running \
		--format "{{.Node}} {{.CurrentState}}" | awk '$2 == "Running" { print $1; exit }'
}
cid() {
	h=$(node_of $1) && test -n "$h" &&
	dock $h ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" \
		--filter status=running | head -n 1
}
# coap SERVICE ARGS...: nano coap inside that service's container, on its
# node, as the admin identity of that service (its secret holds that line)
coap() {
	svc=$1
	shift
	h=$(node_of $svc) && c=$(cid $svc) && test -n "$c" &&
	dock $h exec "$c" /nano coap -K /run/secrets/nano-keys -u admin-$svc "$@"
}
SERVICES="ae mcs mrs pd-entrance bs-entrance pd-room bs-room ug mrs2 pd-room2 bs-room2"
# where the labels must put each service (stack.yml's constraints)
home_of() {
	case $1 in
	ae|mcs)                      echo core ;;
	mrs|pd-room|bs-room)         echo room ;;
	pd-entrance|bs-entrance|ug)  echo entrance ;;
	mrs2|pd-room2|bs-room2)      echo room2 ;;
	esac
}
healthy() {
	h=$(node_of $1) && c=$(cid $1) && test -n "$c" &&
	test "$(dock $h inspect --format "{{.State.Health.Status}}" "$c")" = healthy
}
all_healthy() {
	for svc in $SERVICES; do
		healthy $svc || return 1
	done
}
deploy() {
	(cd "$ROOT" && NANO_SECRETS=${STACK}- docker stack deploy --resolve-image never \
		-c stack.yml -c stack.sim.yml -c test/stack-room2.yml $STACK)
}
# peers_are STATE PEER...: mcs's /health says each is STATE (up, down)
peers_are() {
	coap mcs get coaps://127.0.0.1/health >mcs.health &&
	/usr/bin/python3 -c '
import json, sys
peers = json.load(open("mcs.health"))["peers"]
sys.exit(any(peers[p]["state"] != sys.argv[1] for p in sys.argv[2:]))' "$@"
}
room_peers_are() {
	peers_are $1 "mrs R1" "bs R1" "pd R1"
}
node_state_is() {
	test "$(docker node inspect --format "{{.Status.State}}" $1)" = $2
}

# The keys: stack.yml's (test/stack-keys.sh), and the second room's
. "$TEST_DIR/stack-keys.sh"
secret_ids() {
	case $1 in
	ae)       echo ae mcs mrs-R1 mrs-R2 admin-ae ;;
	mcs)      echo $(stack_secret_ids mcs) pd-R2 bs-R2 ;;
	mrs2)     echo mrs-R2 mcs kiosk-R2 admin-mrs2 ;;
	pd-room2) echo pd-R2 mcs admin-pd-room2 ;;
	bs-room2) echo bs-R2 mcs admin-bs-room2 ;;
	*)        stack_secret_ids $1 ;;
	esac
}
building_secrets() {
	"$NANO" keys new ae mcs ug mrs-R1 kiosk-R1 pd-entrance bs-entrance pd-R1 bs-R1 \
		mrs-R2 kiosk-R2 pd-R2 bs-R2 \
		$(for svc in $SERVICES; do echo admin-$svc; done) >building.keys &&
	for svc in $SERVICES; do
		"$NANO" keys pick building.keys $(secret_ids $svc) |
			docker secret create ${STACK}-nano-keys-$svc - >/dev/null || return 1
	done
}

at_exit nodes_down

test_expect_success 'setup: four nodes, each a dockerd in its own namespace' '
	net_up &&
	for h in $NODES; do
		dockerd_start $h || return 1
	done &&
	ip netns exec $P-room ip -br addr show eth0 | grep $(addr_of room) &&
	test "$(dock core info --format "{{.Name}}")" = core
'

test_expect_success 'one swarm: the entrance manages, the rooms and the core join by address' '
	docker swarm init --advertise-addr $(addr_of entrance) \
		--listen-addr $(addr_of entrance):2377 >/dev/null &&
	token=$(docker swarm join-token -q worker) &&
	for h in room room2 core; do
		dock $h swarm join --token $token --advertise-addr $(addr_of $h) \
			$(addr_of entrance):2377 >/dev/null || return 1
	done &&
	docker node update --label-add nano.entrance=true --label-add nano.guide=true entrance &&
	docker node update --label-add nano.room=true room &&
	docker node update --label-add nano.room2=true room2 &&
	docker node update --label-add nano.core=true core &&
	docker node ls --format "{{.Hostname}} {{.Status}}" | sort >nodes.ls &&
	printf "core Ready\nentrance Ready\nroom Ready\nroom2 Ready\n" >want &&
	test_cmp want nodes.ls
'

# Without the nodes and the swarm, every test after would only wait out its time
test "$test_failed" = 0 || test_done

test_expect_success 'the image: built on the manager, docker save | docker load on the others' '
	mkdir -p ctx/data &&
	cp "$NANO" ctx/nano &&
	docker build -q -f "$ROOT/Dockerfile.scratch" -t $NANO_IMAGE ctx >/dev/null &&
	for h in room room2 core; do
		docker save $NANO_IMAGE | dock $h load -q >/dev/null || return 1
	done &&
	for h in $NODES; do
		dock $h image inspect --format "{{.Id}}" $NANO_IMAGE || return 1
	done >ids &&
	test "$(sort -u ids | wc -l)" = 1
'

test_expect_success 'docker stack deploy: every task on the node its labels choose, healthy' '
	building_secrets &&
	start=$(date +%s) &&
	deploy &&
	wait_secs all_healthy 180 &&
	echo $(( $(date +%s) - start )) >deploy.secs &&
	for svc in $SERVICES; do
		test "$(node_of $svc)" = "$(home_of $svc)" || {
			echo "$svc runs on $(node_of $svc), not $(home_of $svc)"
			return 1
		}
	done
'

test "$test_failed" = 0 || test_done

START=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)

test_expect_success 'the meetings are created in ae, on the core node: R1 and R2' '
	for p in alice:01 bob:02 carol:03 dave:04; do
		id=${p%:*} key=AA:BB:CC:DD:EE:${p#*:}
		coap ae post coaps://127.0.0.1/participants \
			"{\"id\":\"$id\",\"name\":\"$id\",\"ble\":\"$key\"}" || return 1
	done &&
	coap ae post coaps://127.0.0.1/meetings "{\"id\":\"m1\",\"title\":\"Kickoff\",\"room\":\"R1\",\"organizer\":\"alice\",\"start\":\"$START\",\"end\":\"$END\",\"participants\":[\"alice\",\"bob\",\"carol\"],\"content\":\"# Kickoff agenda\"}" &&
	coap ae post coaps://127.0.0.1/meetings "{\"id\":\"m2\",\"title\":\"Retro\",\"room\":\"R2\",\"organizer\":\"dave\",\"start\":\"$START\",\"end\":\"$END\",\"participants\":[\"dave\"],\"content\":\"# Retro notes\"}" &&
	coap ae get coaps://127.0.0.1/meetings/m1 | grep Kickoff
'

# motion PD: its PIR sees someone (on, then off: the next is a new start)
motion() {
	coap $1 post coaps://127.0.0.1/sim/motion "{\"motion\":true}" &&
	coap $1 post coaps://127.0.0.1/sim/motion "{\"motion\":false}"
}
# arrive NAME BYTE: NAME's key seen and motion at the entrance
arrive() {
	coap bs-entrance post coaps://127.0.0.1/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:$2\",\"rssi\":-50,\"name\":\"$1\",\"ttl_ms\":20000}" &&
	motion pd-entrance
}
# in_room NAME BYTE [2]: NAME's key seen and motion in room R1 (R2)
in_room() {
	coap bs-room${3:-} post coaps://127.0.0.1/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:$2\",\"rssi\":-40,\"name\":\"$1\",\"ttl_ms\":20000}" &&
	motion pd-room${3:-}
}
guided() {
	coap mcs get coaps://127.0.0.1/participants >parts &&
	grep -E "\"participant\":\"$1\".*\"state\":\"(guiding|arrived|presenting)\"" parts
}
room_shows() {
	coap mrs get coaps://127.0.0.1/display >display &&
	grep "Kickoff agenda" display && grep "\"$1\"" display
}
room2_shows() {
	coap mrs2 get coaps://127.0.0.1/display >display2 &&
	grep "Retro notes" display2 && grep "\"$1\"" display2
}

test_expect_success 'alice arrives: guided at the entrance node, shown on the room node' '
	arrive alice 01 &&
	{ wait_secs "guided alice" 20 || { cat parts; false; }; } &&
	coap ug get coaps://127.0.0.1/guide | grep alice &&
	in_room alice 01 &&
	wait_secs "room_shows alice" 20
'

test_expect_success 'the kiosk page: a host-mode port on the room node, reached from the entrance node' '
	token=$(sed -n "s/^kiosk-R1 //p" building.keys) &&
	url=http://$(addr_of room):8080 &&
	nsenter --net=/run/netns/$P-entrance curl -sS --max-time 5 -o /dev/null \
		-w "%{http_code}" $url/ >code &&
	test "$(cat code)" = 403 &&
	nsenter --net=/run/netns/$P-entrance curl -sS -N --max-time 2 "$url/events?token=$token" >ev;
	grep "Kickoff agenda" ev && grep "\"participant\":\"alice\"" ev
'

test_expect_success 'the room node is lost: mcs marks its peers down, the entrance still guides' '
	start=$(date +%s) &&
	dockerd_stop room &&
	{ wait_secs "room_peers_are down" 30 || { cat mcs.health; false; }; } &&
	echo $(( $(date +%s) - start )) >lost.secs &&
	wait_secs "node_state_is room down" 60 &&
	peers_are up ae ug "bs entrance" "mrs R2" "bs R2" "pd R2" &&
	arrive bob 02 &&
	{ wait_secs "guided bob" 20 || { cat parts; false; }; } &&
	coap ug get coaps://127.0.0.1/guide | grep bob
'

test_expect_success 'meanwhile the other room works: dave is guided to R2 and shown there' '
	arrive dave 04 &&
	{ wait_secs "guided dave" 20 || { cat parts; false; }; } &&
	in_room dave 04 2 &&
	wait_secs "room2_shows dave" 30
'

test_expect_success 'the room node returns: its tasks come back, the room works again' '
	start=$(date +%s) &&
	dockerd_start room &&
	wait_secs "node_state_is room ready" 60 &&
	wait_secs all_healthy 180 &&
	for svc in mrs pd-room bs-room; do
		test "$(node_of $svc)" = room || return 1
	done &&
	{ wait_secs "room_peers_are up" 30 || { cat mcs.health; false; }; } &&
	in_room bob 02 &&
	wait_secs "room_shows bob" 30 &&
	echo $(( $(date +%s) - start )) >room.secs
'

backup_in_volume() {
	rm -rf backup &&
	c=$(dock core create -v ${STACK}_ae-data:/data $NANO_IMAGE --list) &&
	dock core cp $c:/data/backup ./backup >/dev/null 2>&1;
	dock core rm $c >/dev/null;
	ls backup/*.db
}

test_expect_success 'the core node is lost while ae holds the meeting; it returns with its data' '
	dockerd_stop core &&
	wait_secs "node_state_is core down" 60 &&
	start=$(date +%s) &&
	dockerd_start core &&
	wait_secs "node_state_is core ready" 60 &&
	wait_secs all_healthy 180 &&
	echo $(( $(date +%s) - start )) >core.secs &&
	test "$(node_of ae)" = core && test "$(node_of mcs)" = core &&
	backup_in_volume &&
	test "$(sqlite3 "$(ls backup/*.db | tail -n 1)" "SELECT count(*) FROM participants")" = 4 &&
	coap ae get coaps://127.0.0.1/participants/carol | grep AA:BB:CC:DD:EE:03 &&
	coap ae get coaps://127.0.0.1/meetings/m1 | grep Kickoff
'

test_expect_success 'after the core returns the flow completes: carol is guided and shown' '
	{ wait_secs "room_peers_are up" 30 || { cat mcs.health; false; }; } &&
	arrive carol 03 &&
	{ wait_secs "guided carol" 20 || { cat parts; false; }; } &&
	in_room carol 03 &&
	wait_secs "room_shows carol" 30
'

for t in deploy:"docker stack deploy to every task healthy" \
	 lost:"room node's dockerd stopped to mcs marking its peers down" \
	 room:"room node's dockerd started to the room showing bob" \
	 core:"core node's dockerd started to every task healthy"; do
	test -s ${t%%:*}.secs && echo "# ${t#*:}: $(cat ${t%%:*}.secs) s" >&2
done

test_done
