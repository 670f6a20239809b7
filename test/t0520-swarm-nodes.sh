#!/bin/sh
# The building `nano stack` makes for three rooms and two entrances
# (docs/building-three-rooms.json), with its --sim override and the
# secrets `nano stack --keys` names, on a Swarm of four nodes made on this
# machine: four dockerd of the test's own, each in its own network
# namespace with its own address, hostname, data-root, exec-root and
# containerd, joined over a bridge into one swarm.  A node carries the
# labels of several places: "entrance" both doors (north, south), "room1"
# room R1, "room23" rooms R2 and R3, "core" ae, mcs and ug; the labels
# place every one of the sixteen services, the roles reach each other by
# name (endpoint_mode dnsrr) over the overlay network between the nodes,
# and the scenario is driven with `docker exec ... nano coap` on the node
# that runs each task.  Two visitors come in by the two doors at once and
# each is guided and shown on their own room's display.  Then a node is
# lost: R1's dockerd stops (its containers with it), mcs marks exactly
# R1's peers down, both doors keep guiding and R3 keeps working, and when
# the dockerd starts again its tasks come back and R1 works without a
# redeploy.  Last the core's dockerd stops while ae holds the meetings;
# when it returns ae has its data (the volume, with the SIGTERM backup)
# and another person's flow completes.
#
# The host's own dockerd is not used: nothing of it is read or changed.
# There is no registry: the image is built on the manager and reaches the
# other nodes with `docker save | docker load`; the stack is deployed with
# --resolve-image never.  Swarm's VIP and ingress need IPVS, which a kernel
# may lack: the stack uses dnsrr and host-mode ports only.
#
# The times from the deploy to every task healthy, from a node's stop to
# mcs marking its peers down, from its return to its room working again
# and from the core's return to every task healthy are printed (stderr)
# at the end.
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
BUILDING=$ROOT/docs/building-three-rooms.json
# Names in the kernel's namespaces are global: the pid keeps two runs apart
# (a link's name is at most 15 bytes: nnPID + the node's last octet + s)
P=nn$$
SW=$P-sw
NODES="entrance room1 room23 core"
SUBNET=198.18.20
D=$TMP/nodes
STACK=nanot$$
export NANO_IMAGE=nano-test:t0520-$$

addr_of() {
	case $1 in
	entrance) echo $SUBNET.11 ;;
	room1)    echo $SUBNET.12 ;;
	room23)   echo $SUBNET.14 ;;
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
	h=$(node_of $svc) && test -n "$h" && c=$(cid $svc) && test -n "$c" &&
	dock $h exec "$c" /nano coap -K /run/secrets/nano-keys -u admin-$svc "$@"
}
# The building's services: the first word of each line of `nano stack --keys`
SERVICES=$("$NANO" stack --keys "$BUILDING" | cut -d" " -f1)
# where the node labels must put each service: the building's places
home_of() {
	case $1 in
	ae|mcs|ug)                            echo core ;;
	pd-north|bs-north|pd-south|bs-south)  echo entrance ;;
	mrs-r1|pd-r1|bs-r1)                   echo room1 ;;
	mrs-r2|pd-r2|bs-r2|mrs-r3|pd-r3|bs-r3) echo room23 ;;
	esac
}
healthy() {
	h=$(node_of $1) && test -n "$h" && c=$(cid $1) && test -n "$c" &&
	test "$(dock $h inspect --format "{{.State.Health.Status}}" "$c")" = healthy
}
all_healthy() {
	for svc in $SERVICES; do
		healthy $svc || return 1
	done
}
# The stack and its sim override as `nano stack` prints them for the
# building, deployed as README "A building's stack" has it
deploy() {
	nano stack "$BUILDING" >stack.yml &&
	nano stack --sim "$BUILDING" >stack.sim.yml &&
	NANO_SECRETS=${STACK}- docker stack deploy --resolve-image never \
		-c stack.yml -c stack.sim.yml $STACK
}
# mcs's peers: ae, ug, each place's bs, each room's pd and mrs
PEERS="ae ug bs_north bs_south bs_R1 bs_R2 bs_R3 pd_R1 pd_R2 pd_R3 mrs_R1 mrs_R2 mrs_R3"
# peers_down [PEER...]: mcs's /health knows exactly PEERS, says these are
# down and every other one up (no PEER: all up); a peer is written with _
# for the space of its name (bs_R1 for "bs R1")
peers_down() {
	coap mcs get coaps://127.0.0.1/health >mcs.health &&
	/usr/bin/python3 -c '
import json, sys
peers = json.load(open("mcs.health"))["peers"]
known, down = sys.argv[1].split(), sys.argv[2:]
state = {p.replace(" ", "_"): peers[p]["state"] for p in peers}
sys.exit(sorted(state) != sorted(known) or
         any(state[p] != ("down" if p in down else "up") for p in state))' "$PEERS" "$@"
}
node_state_is() {
	test "$(docker node inspect --format "{{.Status.State}}" $1)" = $2
}

# The keys as README "Keys" provisions them for a deployment: one keys file
# for the building with every identity `nano stack --keys` names, and each
# service's secret picked from it
building_secrets() {
	nano stack --keys "$BUILDING" >secret-ids &&
	nano keys new $(cut -d" " -f2- secret-ids | tr " " "\n" | sort -u) >building.keys &&
	while read -r svc ids; do
		nano keys pick building.keys $ids |
			docker secret create ${STACK}-nano-keys-$svc - >/dev/null || return 1
	done <secret-ids
}

at_exit nodes_down

test_expect_success 'setup: four nodes, each a dockerd in its own namespace' '
	net_up &&
	for h in $NODES; do
		dockerd_start $h || return 1
	done &&
	ip netns exec $P-room1 ip -br addr show eth0 | grep $(addr_of room1) &&
	test "$(dock core info --format "{{.Name}}")" = core
'

test_expect_success 'one swarm: the entrance manages, the rooms and the core join by address' '
	docker swarm init --advertise-addr $(addr_of entrance) \
		--listen-addr $(addr_of entrance):2377 >/dev/null &&
	token=$(docker swarm join-token -q worker) &&
	for h in room1 room23 core; do
		dock $h swarm join --token $token --advertise-addr $(addr_of $h) \
			$(addr_of entrance):2377 >/dev/null || return 1
	done &&
	docker node update --label-add nano.entrance.north=true \
		--label-add nano.entrance.south=true entrance &&
	docker node update --label-add nano.room.R1=true room1 &&
	docker node update --label-add nano.room.R2=true --label-add nano.room.R3=true room23 &&
	docker node update --label-add nano.core=true core &&
	docker node ls --format "{{.Hostname}} {{.Status}}" | sort >nodes.ls &&
	printf "core Ready\nentrance Ready\nroom1 Ready\nroom23 Ready\n" >want &&
	test_cmp want nodes.ls
'

# Without the nodes and the swarm, every test after would only wait out its time
test "$test_failed" = 0 || test_done

test_expect_success 'the image: built on the manager, docker save | docker load on the others' '
	mkdir -p ctx/data &&
	cp "$NANO" ctx/nano &&
	docker build -q -f "$ROOT/Dockerfile.scratch" -t $NANO_IMAGE ctx >/dev/null &&
	for h in room1 room23 core; do
		docker save $NANO_IMAGE | dock $h load -q >/dev/null || return 1
	done &&
	for h in $NODES; do
		dock $h image inspect --format "{{.Id}}" $NANO_IMAGE || return 1
	done >ids &&
	test "$(sort -u ids | wc -l)" = 1
'

test_expect_success 'docker stack deploy of the generated stack: every task on the node its labels choose, healthy' '
	test "$(echo $SERVICES | wc -w)" = 16 &&
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
	done &&
	{ wait_secs peers_down 30 || { cat mcs.health; false; }; }
'

test "$test_failed" = 0 || test_done

START=$(date -u -d "-5 min" +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d "+1 hour" +%Y-%m-%dT%H:%M:%SZ)

# meeting ID ROOM TITLE PARTICIPANT...: a meeting now, its content "# TITLE"
meeting() {
	id=$1 room=$2 title=$3
	shift 3
	who=$(printf ",\"%s\"" "$@")
	coap ae post coaps://127.0.0.1/meetings "{\"id\":\"$id\",\"title\":\"$title\",\"room\":\"$room\",\"organizer\":\"$1\",\"start\":\"$START\",\"end\":\"$END\",\"participants\":[${who#,}],\"content\":\"# $title\"}"
}

test_expect_success 'the meetings are created in ae, on the core node: one in each room' '
	for p in alice:01 bob:02 carol:03 dave:04 erin:05; do
		id=${p%:*} key=AA:BB:CC:DD:EE:${p#*:}
		coap ae post coaps://127.0.0.1/participants \
			"{\"id\":\"$id\",\"name\":\"$id\",\"ble\":\"$key\"}" || return 1
	done &&
	meeting m1 R1 "Kickoff agenda" carol &&
	meeting m2 R2 "Retro notes" alice erin &&
	meeting m3 R3 "Review slides" bob dave &&
	coap ae get coaps://127.0.0.1/meetings/m3 | grep "Review slides"
'

# motion PD: its PIR sees someone (on, then off: the next is a new start)
motion() {
	coap $1 post coaps://127.0.0.1/sim/motion "{\"motion\":true}" &&
	coap $1 post coaps://127.0.0.1/sim/motion "{\"motion\":false}"
}
# seen PLACE NAME BYTE: NAME's key seen and motion there (north, south, r1...)
seen() {
	coap bs-$1 post coaps://127.0.0.1/sim/adv "{\"addr\":\"AA:BB:CC:DD:EE:$3\",\"rssi\":-45,\"name\":\"$2\",\"ttl_ms\":20000}" &&
	motion pd-$1
}
guided() {
	coap mcs get coaps://127.0.0.1/participants >parts &&
	grep -E "\"participant\":\"$1\".*\"state\":\"(guiding|arrived|presenting)\"" parts
}
# guided_to NAME ROOM: ug lights NAME's route to ROOM
guided_to() {
	coap ug get coaps://127.0.0.1/guide >guide &&
	grep "\"participant\":\"$1\",\"room\":\"$2\"" guide
}
# shows ROOM NAME: that room's display has its meeting and NAME
shows() {
	r=$(echo $1 | tr R r) &&
	coap mrs-$r get coaps://127.0.0.1/display >display.$1 &&
	case $1 in
	R1) grep "Kickoff agenda" display.$1 ;;
	R2) grep "Retro notes" display.$1 ;;
	R3) grep "Review slides" display.$1 ;;
	esac &&
	grep "\"participant\":\"$2\"" display.$1
}

test_expect_success 'alice by the south door, bob by the north one: each guided and shown in their room' '
	seen south alice 01 &&
	seen north bob 02 &&
	{ wait_secs "guided alice && guided bob" 20 || { cat parts; false; }; } &&
	guided_to alice R2 && guided_to bob R3 &&
	seen r2 alice 01 &&
	seen r3 bob 02 &&
	wait_secs "shows R2 alice" 20 &&
	wait_secs "shows R3 bob" 20 &&
	coap mrs-r1 get coaps://127.0.0.1/display >display.R1 &&
	! grep -E "\"participant\":\"(alice|bob)\"" display.R1
'

test_expect_success 'the kiosk pages: two rooms on one node, each on its own host-mode port' '
	for port in 8082 8083; do
		nsenter --net=/run/netns/$P-entrance curl -sS --max-time 5 -o /dev/null \
			-w "%{http_code}" http://$(addr_of room23):$port/ >code &&
		test "$(cat code)" = 403 || return 1
	done &&
	token=$(sed -n "s/^kiosk-R3 //p" building.keys) &&
	nsenter --net=/run/netns/$P-entrance curl -sS -N --max-time 2 \
		"http://$(addr_of room23):8083/events?token=$token" >ev;
	grep "Review slides" ev && grep "\"participant\":\"bob\"" ev
'

test_expect_success 'the node of R1 is lost: mcs marks exactly R1'\''s peers down, the doors still guide' '
	start=$(date +%s) &&
	dockerd_stop room1 &&
	{ wait_secs "peers_down mrs_R1 bs_R1 pd_R1" 30 || { cat mcs.health; false; }; } &&
	echo $(( $(date +%s) - start )) >lost.secs &&
	wait_secs "node_state_is room1 down" 60 &&
	seen north carol 03 &&
	{ wait_secs "guided carol" 20 || { cat parts; false; }; } &&
	guided_to carol R1
'

test_expect_success 'meanwhile the other rooms work: dave by the south door is shown in R3' '
	seen south dave 04 &&
	{ wait_secs "guided dave" 20 || { cat parts; false; }; } &&
	guided_to dave R3 &&
	seen r3 dave 04 &&
	wait_secs "shows R3 dave" 30 &&
	shows R2 alice &&
	peers_down mrs_R1 bs_R1 pd_R1
'

test_expect_success 'the node of R1 returns: its tasks come back, R1 works again' '
	start=$(date +%s) &&
	dockerd_start room1 &&
	wait_secs "node_state_is room1 ready" 60 &&
	wait_secs all_healthy 180 &&
	for svc in mrs-r1 pd-r1 bs-r1; do
		test "$(node_of $svc)" = room1 || return 1
	done &&
	{ wait_secs peers_down 30 || { cat mcs.health; false; }; } &&
	seen r1 carol 03 &&
	wait_secs "shows R1 carol" 30 &&
	echo $(( $(date +%s) - start )) >room.secs
'

backup_in_volume() {
	rm -rf backup &&
	c=$(dock core create -v ${STACK}_ae-data:/data $NANO_IMAGE --list) &&
	dock core cp $c:/data/backup ./backup >/dev/null 2>&1;
	dock core rm $c >/dev/null;
	ls backup/*.db
}

test_expect_success 'the core node is lost while ae holds the meetings; it returns with its data' '
	dockerd_stop core &&
	wait_secs "node_state_is core down" 60 &&
	start=$(date +%s) &&
	dockerd_start core &&
	wait_secs "node_state_is core ready" 60 &&
	wait_secs all_healthy 180 &&
	echo $(( $(date +%s) - start )) >core.secs &&
	for svc in ae mcs ug; do
		test "$(node_of $svc)" = core || return 1
	done &&
	backup_in_volume &&
	test "$(sqlite3 "$(ls backup/*.db | tail -n 1)" "SELECT count(*) FROM participants")" = 5 &&
	coap ae get coaps://127.0.0.1/participants/erin | grep AA:BB:CC:DD:EE:05 &&
	coap ae get coaps://127.0.0.1/meetings/m2 | grep "Retro notes"
'

test_expect_success 'after the core returns the flow completes: erin by the north door, shown in R2' '
	{ wait_secs peers_down 30 || { cat mcs.health; false; }; } &&
	seen north erin 05 &&
	{ wait_secs "guided erin" 20 || { cat parts; false; }; } &&
	guided_to erin R2 &&
	seen r2 erin 05 &&
	wait_secs "shows R2 erin" 30
'

for t in deploy:"docker stack deploy to every task healthy" \
	 lost:"R1's node's dockerd stopped to mcs marking its peers down" \
	 room:"R1's node's dockerd started to R1 showing carol" \
	 core:"core node's dockerd started to every task healthy"; do
	test -s ${t%%:*}.secs && echo "# ${t#*:}: $(cat ${t%%:*}.secs) s" >&2
done

test_done
