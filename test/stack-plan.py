#!/usr/bin/python3
"""stack-plan.py - a stack file's services as processes on this machine,
without Docker, for test/stack-run.sh.

    stack-plan.py STACK.yml BUILDING.json NET DIR [SERVICE...]

Reads the compose file as `docker stack deploy` would (YAML with anchors
and merge keys) and, for each service (or the ones named), prints one
shell line that starts its real command with its real environment (its
name with '-' as '_' names its pid and log, as lib.sh's start_bg has it):

    start_bg SERVICE_ env -i VAR=VALUE... unshare -m sh -c 'mount --bind ...' HOSTS /nano ARGS...

What Docker would give a task is given here the same way, and nothing
more, so a wrong path, line, flag or name in the stack fails:

  - its own address: service number k listens on NET.k (the stack's
    0.0.0.0:PORT or [::]:PORT, or NANO_LISTEN=NET.k:5684 when the command
    names no --listen: the image's default [::]:5684);
  - the names of the other services: a hosts file (DIR/hosts) bind-mounted
    on /etc/hosts in a mount namespace of its own (unshare -m), as Docker's
    DNS would answer them; peers stay the URIs the stack names;
  - its mounts: a path in argv or the environment under a volume's target
    becomes the path under that volume's source: a host path (/sys,
    /run/dbus) under its node's fake root DIR/n/K/ (one per node label, KEY ==
    VALUE of its placement constraint, written in DIR/n/K/label), a named volume under
    DIR/volumes/NAME, a secret at DIR/secrets/SOURCE.  Any other absolute
    path is under DIR/containers/SERVICE, where nothing is;
  - the paths the roles know without being told: the keys file
    /run/secrets/nano-keys (NANO_KEYS) and the system bus
    /run/dbus/system_bus_socket (DBUS_SYSTEM_BUS_ADDRESS), mapped the same
    way.

It also writes the fake hardware of each node from BUILDING.json (the
building's description, not the stack): DIR/n/K/sys/class/gpio
with every line the building puts on that label already exported (a line
the stack names that the building does not have is missing, and the role
fails as on a Pi), and prints for every node with a bs one line
"bus NODE_DIR ADAPTER" for the test to start its system bus and fake
bluetoothd.  Service addresses are printed as ADDR_<service>=NET.k (with
'-' as '_') and node roots as NODE_<service>=DIR.
"""
import json
import os
import shlex
import sys

import yaml

KEYS_DEFAULT = "/run/secrets/nano-keys"
BUS_DEFAULT = "/run/dbus/system_bus_socket"
PASS_ENV = ("LD_LIBRARY_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "QEMU_CPU")


def node_label(svc):
    """KEY/VALUE of the service's `node.labels.KEY == VALUE` constraint."""
    for c in svc.get("deploy", {}).get("placement", {}).get("constraints", []):
        left, _, right = c.partition("==")
        if left.strip().startswith("node.labels."):
            return left.strip()[len("node.labels."):] + "/" + right.strip()
    sys.exit("stack-plan: a service without a node.labels constraint")


def building_nodes(building):
    """{KEY/VALUE: (GPIO lines, adapters)} from the description."""
    def label(node):
        key, _, value = node.partition("=")
        return key + "/" + (value or "true")
    nodes = {}
    def add(node, lines=(), adapter=None):
        lines_, adapters = nodes.setdefault(label(node), (set(), set()))
        lines_.update(lines)
        if adapter:
            adapters.add(adapter)
    add(building["core"]["node"])
    add(building["guide"]["node"], building["guide"]["leds"])
    for p in building["entrances"] + building["rooms"]:
        add(p["node"], [p["pir"]], p.get("adapter", "hci0"))
    return nodes


def fake_gpio(root, lines):
    """A sysfs class/gpio tree as the kernel shows it once lines are exported."""
    g = os.path.join(root, "sys/class/gpio")
    os.makedirs(g, exist_ok=True)
    for f in ("export", "unexport"):
        open(os.path.join(g, f), "w").close()
    for line in lines:
        d = os.path.join(g, "gpio%d" % line)
        os.makedirs(d, exist_ok=True)
        for f, v in (("direction", "in"), ("edge", "none"), ("active_low", "0"), ("value", "0")):
            with open(os.path.join(d, f), "w") as fh:
                fh.write(v + "\n")


def mounts(name, svc, node_root, top, out):
    """[(container path, host path)], the longest target first."""
    m = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            src, target = v.get("source", ""), v["target"]
        else:
            src, _, target = v.partition(":")
            target = target.split(":")[0]
        if src.startswith("/"):
            host = os.path.join(node_root, src.lstrip("/"))
        else:
            if src not in (top.get("volumes") or {}):
                sys.exit("stack-plan: %s mounts volume %s, which the stack does not declare" %
                         (name, src))
            host = os.path.join(out, "volumes", src)
            os.makedirs(host, exist_ok=True)
        m.append((target.rstrip("/"), host))
    for s in svc.get("secrets") or []:
        source = s["source"] if isinstance(s, dict) else s
        target = s.get("target", source) if isinstance(s, dict) else s
        if source not in (top.get("secrets") or {}):
            sys.exit("stack-plan: %s uses secret %s, which the stack does not declare" %
                     (name, source))
        if not target.startswith("/"):
            target = "/run/secrets/" + target
        m.append((target, os.path.join(out, "secrets", source)))
    return sorted(m, key=lambda t: -len(t[0]))


def mapper(name, mnt, out):
    def host_path(p):
        for target, host in mnt:
            if p == target or p.startswith(target + "/"):
                return host + p[len(target):]
        return os.path.join(out, "containers", name, p.lstrip("/"))
    return host_path


def translate(value, addr, host_path):
    """What a value in a container means on this machine."""
    value = str(value)
    for any_addr in ("0.0.0.0:", "[::]:"):
        if value.startswith(any_addr) and value[len(any_addr):].isdigit():
            return addr + ":" + value[len(any_addr):]
    if value.startswith("/"):
        return host_path(value)
    if value.startswith("unix:path=/"):
        return "unix:path=" + host_path(value[len("unix:path="):])
    return value


def main():
    stack_file, building_file, net, out = sys.argv[1:5]
    only = sys.argv[5:]
    top = yaml.safe_load(open(stack_file))
    building = json.load(open(building_file))
    services = top["services"]
    nodes = building_nodes(building)

    # a node's root is DIR/n/K (a socket path must fit in 108 bytes), its
    # label in DIR/n/K/label
    roots = {label: os.path.join(out, "n", str(k + 1)) for k, label in enumerate(nodes)}
    for label, (lines, _) in nodes.items():
        fake_gpio(roots[label], sorted(lines))
        with open(os.path.join(roots[label], "label"), "w") as fh:
            fh.write(label.replace("/", " == ") + "\n")
    addrs = {name: "%s.%d" % (net, k + 1) for k, name in enumerate(services)}
    hosts = os.path.join(out, "hosts")
    with open(hosts, "w") as fh:
        fh.write("127.0.0.1 localhost\n")
        for name, addr in addrs.items():
            fh.write("%s %s\n" % (addr, name))

    for label, (_, adapters) in nodes.items():
        for a in sorted(adapters):
            print("bus %s %s" % (shlex.quote(roots[label]), a))
    for name, svc in services.items():
        node_root = roots.get(node_label(svc))
        if not node_root:
            sys.exit("stack-plan: %s is placed on %s, a label the building does not have" %
                     (name, node_label(svc)))
        var = name.replace("-", "_")
        print("ADDR_%s=%s NODE_%s=%s" % (var, addrs[name], var, shlex.quote(node_root)))
        if only and name not in only:
            continue
        host_path = mapper(name, mounts(name, svc, node_root, top, out), out)
        os.makedirs(os.path.join(out, "containers", name), exist_ok=True)
        argv = [translate(a, addrs[name], host_path) for a in svc["command"]]
        env = {k: translate(v, addrs[name], host_path)
               for k, v in (svc.get("environment") or {}).items()}
        if "--listen" not in svc["command"] and "NANO_LISTEN" not in env:
            env["NANO_LISTEN"] = addrs[name] + ":5684"
        env.setdefault("NANO_KEYS", host_path(KEYS_DEFAULT))
        env.setdefault("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=" + host_path(BUS_DEFAULT))
        env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        for k in PASS_ENV:
            if k in os.environ:
                env[k] = os.environ[k]
        words = ["start_bg", var, "env", "-i"] + ["%s=%s" % kv for kv in sorted(env.items())]
        words += ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hosts,
                  "$NANO"]
        print(" ".join(shlex.quote(w) if w != "$NANO" else '"$NANO"' for w in words) +
              " " + " ".join(shlex.quote(a) for a in argv))


main()
