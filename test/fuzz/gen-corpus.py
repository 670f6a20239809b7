#!/usr/bin/env python3
"""gen-corpus.py - the seed corpora and dictionaries of make fuzz.

  python3 test/fuzz/gen-corpus.py [DIR]      (DIR: test/fuzz, the default)

Writes DIR/corpus/TARGET/seed-NAME (replacing every seed-* there, keeping
files added by hand under other names) and DIR/dict/TARGET.dict.  Run it
again after changing a role's resources; the output is deterministic.

Role targets (nano-fuzz, test/fuzz/roles.c): an input is datagrams, each
a 2-byte big-endian length and the bytes, sent in order from one peer.
The seeds are valid requests to every resource of the role: GET /health,
/stats, /.well-known/core, a POST of a valid body to each resource, a
Block1 upload and its restart, Observe and its cancel.  The CoAP encoding
is test/coap-raw.py's.
"""
import importlib.util
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("coap_raw", os.path.join(HERE, "..", "coap-raw.py"))
raw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(raw)

CON, NON, ACK, RST = raw.CON, raw.NON, raw.ACK, raw.RST
GET, POST, PUT, DELETE = 1, 2, 3, 4
JSON_FMT = (raw.CONTENT_FORMAT, b"\x32")        # application/json (50)
URI_QUERY = 15

_mid = [0x1000]


def dgram(code, path, body=b"", mtype=CON, token=b"\x01\x02", extra=(), query=()):
    _mid[0] += 1
    opts = raw.path_opts(path) + list(extra)
    opts += [(URI_QUERY, q.encode()) for q in query]
    if body:
        opts.append(JSON_FMT)
    if isinstance(body, str):
        body = body.encode()
    return raw.encode(mtype, code, _mid[0] & 0xFFFF, token, opts, body)


def frame(*dgrams):
    return b"".join(struct.pack("!H", len(d)) + d for d in dgrams)


def block1(path, body, szx=2, token=b"\x0b\x01"):
    """The datagrams of a Block1 upload of body in 2**(szx+4)-byte blocks."""
    size = 1 << (szx + 4)
    n = (len(body) + size - 1) // size
    return [dgram(POST, path, body[i * size:(i + 1) * size], token=token,
                  extra=[(raw.BLOCK1, raw.block_val(i, i + 1 < n, szx)),
                         (raw.SIZE1, raw.uint_bytes(len(body)))])
            for i in range(n)]


def common(observable, post_path, post_body):
    """Seeds every role gets."""
    big = post_body + b" " * (200 - len(post_body)) if len(post_body) < 200 else post_body
    s = {
        "health": frame(dgram(GET, "health")),
        "health-non": frame(dgram(GET, "health", mtype=NON)),
        "stats": frame(dgram(GET, "stats")),
        "core": frame(dgram(GET, ".well-known/core")),
        "health-block2": frame(dgram(GET, "health", extra=[(raw.BLOCK2, raw.block_val(1, 0, 0))])),
        "ping-rst": frame(raw.encode(CON, 0, 0x4242, b"", []), raw.encode(RST, 0, 0x4243, b"", [])),
        "not-found": frame(dgram(GET, "no/such/thing")),
        "block1": frame(*block1(post_path, big)),
        "block1-restart": frame(
            dgram(POST, post_path, b"x" * 64, token=b"\x0c",
                  extra=[(raw.BLOCK1, raw.block_val(0, 1, 2))]),
            dgram(POST, post_path, post_body, token=b"\x0c",
                  extra=[(raw.BLOCK1, raw.block_val(0, 0, 2))])),
    }
    for path in observable:
        s["observe-" + path.replace("/", "-")] = frame(
            dgram(GET, path, token=b"\x0d\x0e", extra=[(raw.OBSERVE, b"")]),
            dgram(GET, path, token=b"\x0d\x0e", extra=[(raw.OBSERVE, b"\x01")]))
    return s


PARTICIPANT = b'{"id":"alice","name":"Alice","ble":"AA:BB:CC:DD:EE:01","irk":"000102030405060708090a0b0c0d0e0f"}'
MEETING = (b'{"id":"m1","title":"Weekly","room":"R1","building":"B1","organizer":"alice",'
           b'"start":"2026-11-27T13:00:00Z","end":"2026-11-27T14:00:00.5+01:00",'
           b'"participants":["alice"],"content":"# agenda"}')
MEETING_JSON_CONTENT = (b'{"id":"m2","title":"Review","room":"R2","start":"2030-01-01T09:00:00Z",'
                        b'"end":"2030-01-01T10:00:00Z","content":{"agenda":[1,2]}}')
AUTH = b'{"ble":["AA:BB:CC:DD:EE:01","aa:bb:cc:dd:ee:02"],"location":"entrance"}'
IDENTITIES = (b'{"id":"bob","name":"Bob","ble":"AA:BB:CC:DD:EE:02","identities":[{"ble":"AA:BB:CC:DD:EE:20"},'
              b'{"irk":"ec0234a357c8ad05341010a60a397d9b"},'
              b'{"ibeacon":{"uuid":"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0","major":1,"minor":2}}]}')
AUTH_BEACON = (b'{"ble":["70:81:94:0D:FB:AA","C1:00:00:00:00:01"],"location":"R1",'
               b'"ibeacons":{"C1:00:00:00:00:01":"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0/1/2"}}')
SIM_PHONE = b'{"irk":"ec0234a357c8ad05341010a60a397d9b","rotate_ms":1000,"ttl_ms":5000}'
BLE_BADGE = (b'{"location":"R1","devices":[{"addr":"C1:00:00:00:00:01","rssi":-50,"ibeacon":'
             b'{"uuid":"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0","major":1,"minor":2,"tx_power":-59}}]}')
SIM_ADV = (b'{"addr":"AA:BB:CC:DD:EE:01","rssi":-50,"name":"phone","ttl_ms":5000,"type":"random",'
           b'"ibeacon":{"uuid":"E2C56DB5-DFFB-48D2-B060-D0F5A71096E0","major":1,"minor":2,"tx_power":-59}}')
BLE = (b'{"location":"R1","devices":[{"addr":"AA:BB:CC:DD:EE:01","name":"phone","rssi":-50,'
       b'"last_seen_ms":10,"type":"public"}]}')
BLE_ENTRANCE = b'{"location":"entrance","devices":[{"addr":"AA:BB:CC:DD:EE:01","rssi":-40}]}'
PRESENCE = b'{"location":"entrance","node":"pd1","ts_ms":0}'
GUIDE = b'{"participant":"alice","room":"R1"}'
PRESENT = b'{"participant":"alice","meeting":"m1"}'


def role_seeds():
    r = {}
    r["ae"] = common([], "participants", PARTICIPANT)
    r["ae"].update({
        "participant": frame(dgram(POST, "participants", PARTICIPANT)),
        "participant-put-get-delete": frame(
            dgram(PUT, "participants/alice", PARTICIPANT),
            dgram(GET, "participants/alice"), dgram(GET, "participants"),
            dgram(DELETE, "participants/alice")),
        "meeting": frame(dgram(POST, "participants", PARTICIPANT), dgram(POST, "meetings", MEETING),
                         dgram(GET, "meetings/m1"), dgram(GET, "meetings")),
        "meeting-json-content": frame(dgram(POST, "meetings", MEETING_JSON_CONTENT),
                                      dgram(GET, "meetings/m2"), dgram(DELETE, "meetings/m2")),
        "auth": frame(dgram(POST, "participants", PARTICIPANT), dgram(POST, "meetings", MEETING),
                      dgram(POST, "auth", AUTH)),
        "identities": frame(dgram(POST, "participants", IDENTITIES), dgram(GET, "participants/bob"),
                            dgram(POST, "meetings", MEETING), dgram(POST, "auth", AUTH_BEACON)),
        "events": frame(dgram(GET, "events", query=["since=0", "limit=10"])),
        "backup": frame(dgram(POST, "backup")),
    })
    r["mcs"] = common(["participants"], "presence", PRESENCE)
    r["mcs"].update({
        "presence": frame(dgram(POST, "presence", PRESENCE)),
        "presence-room": frame(dgram(POST, "presence", b'{"location":"R1"}')),
        "ble": frame(dgram(POST, "ble", BLE)),
        "ble-badge": frame(dgram(POST, "ble", BLE_BADGE)),
        "ble-entrance": frame(dgram(POST, "presence", PRESENCE), dgram(POST, "ble", BLE_ENTRANCE)),
        "participants": frame(dgram(GET, "participants", query=["state=arrived", "limit=5"])),
        "timeline": frame(dgram(GET, "timeline", query=["since=0", "limit=10"])),
    })
    r["pd"] = common(["presence"], "sim/motion", b'{"motion":true}')
    r["pd"].update({
        "presence": frame(dgram(GET, "presence")),
        "motion": frame(dgram(POST, "sim/motion", b'{"motion":true}'),
                        dgram(POST, "sim/motion", b'{"motion":false}')),
        "sim-other": frame(dgram(PUT, "sim/light", b'{}')),
    })
    r["bs"] = common(["devices"], "sim/adv", SIM_ADV)
    r["bs"].update({
        "sim-adv": frame(dgram(POST, "sim/adv", SIM_ADV)),
        "sim-phone": frame(dgram(POST, "sim/adv", SIM_PHONE), dgram(POST, "sim/adv", SIM_PHONE),
                           dgram(POST, "scan", b'{"duration_ms":0}')),
        "scan-now": frame(dgram(POST, "sim/adv", SIM_ADV), dgram(POST, "scan", b'{"duration_ms":0}')),
        "scan-later": frame(dgram(POST, "scan", b'{"duration_ms":20}')),
        "devices": frame(dgram(GET, "devices")),
    })
    r["ug"] = common(["guide"], "guide", GUIDE)
    r["ug"].update({
        "guide": frame(dgram(POST, "guide", GUIDE), dgram(GET, "guide/alice"), dgram(GET, "guide")),
        "guide-stop": frame(dgram(POST, "guide", GUIDE), dgram(DELETE, "guide/alice")),
        "leds": frame(dgram(GET, "leds")),
    })
    r["mrs"] = common(["display"], "present", PRESENT)
    r["mrs"].update({
        "present": frame(dgram(POST, "present", PRESENT)),
        "display": frame(dgram(GET, "display")),
    })
    return r


# ---- D-Bus, little-endian, for the bluez target -------------------------

def _align(buf, n):
    while len(buf) % n:
        buf.append(0)


ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8,
         "s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8, "v": 1}


def _one_type(sig):
    """The first complete type of sig."""
    if sig[0] == "a":
        return "a" + _one_type(sig[1:])
    if sig[0] in "({":
        close = ")" if sig[0] == "(" else "}"
        depth, i = 0, 0
        for i, c in enumerate(sig):
            depth += c in "({"
            depth -= c in ")}"
            if depth == 0:
                break
        assert sig[i] == close
        return sig[:i + 1]
    return sig[0]


def _types(sig):
    out = []
    while sig:
        t = _one_type(sig)
        out.append(t)
        sig = sig[len(t):]
    return out


def marshal(t, v, buf):
    c = t[0]
    _align(buf, ALIGN[c])
    if c == "y":
        buf.append(v)
    elif c in "bu":
        buf += struct.pack("<I", int(v))
    elif c == "n":
        buf += struct.pack("<h", v)
    elif c == "q":
        buf += struct.pack("<H", v)
    elif c == "i":
        buf += struct.pack("<i", v)
    elif c in "so":
        b = v.encode()
        buf += struct.pack("<I", len(b)) + b + b"\0"
    elif c == "g":
        b = v.encode()
        buf += bytes([len(b)]) + b + b"\0"
    elif c == "v":
        vt, vv = v
        marshal("g", vt, buf)
        marshal(vt, vv, buf)
    elif c == "a":
        et = t[1:]
        at = len(buf)
        buf += b"\0\0\0\0"
        _align(buf, ALIGN[et[0]])
        start = len(buf)
        items = v.items() if et[0] == "{" else v
        for item in items:
            marshal(et, item, buf)
        struct.pack_into("<I", buf, at, len(buf) - start)
    elif c in "({":
        for st, sv in zip(_types(t[1:-1]), v):
            marshal(st, sv, buf)
    else:
        raise ValueError(t)


def body(sig, *values):
    buf = bytearray()
    for t, v in zip(_types(sig), values):
        marshal(t, v, buf)
    return bytes(buf)


def dbus_signal(path, iface, member, sig, *values):
    """A whole little-endian wire message."""
    b = body(sig, *values)
    fields = [(1, ("o", path)), (2, ("s", iface)), (3, ("s", member)), (8, ("g", sig))]
    hdr = bytearray(b"l\x04\x00\x01") + struct.pack("<II", len(b), 7)
    marshal("a(yv)", fields, hdr)
    _align(hdr, 8)
    return bytes(hdr) + b


def wrapped(sig, *values):
    """The target's short form: a byte, the signature's length, it, the body."""
    return b"\x00" + bytes([len(sig)]) + sig.encode() + body(sig, *values)


IBEACON = bytes([0x02, 0x15]) + bytes.fromhex("E2C56DB5DFFB48D2B060D0F5A71096E0") + \
    bytes([0, 1, 0, 2, 0xC5])
DEV_PROPS = {
    "Address": ("s", "aa:bb:cc:dd:ee:01"),
    "AddressType": ("s", "random"),
    "RSSI": ("n", -60),
    "Name": ("s", "phone \u00e9"),
    "ManufacturerData": ("a{qv}", {0x004C: ("ay", list(IBEACON)), 0x0059: ("ay", [1, 2, 3])}),
    "ServiceData": ("a{sv}", {"0000feaa-0000-1000-8000-00805f9b34fb": ("ay", [0x10, 0x20])}),
    "Paired": ("b", 0),
}
DEV_PATH = "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01"


def bluez_seeds():
    return {
        "props-changed": wrapped("sa{sv}as", "org.bluez.Device1",
                                 {"RSSI": ("n", -48), "ManufacturerData": DEV_PROPS["ManufacturerData"]},
                                 ["Name"]),
        "props-invalidated-rssi": wrapped("sa{sv}as", "org.bluez.Device1", {}, ["RSSI"]),
        "interfaces-added": wrapped("oa{sa{sv}}", DEV_PATH,
                                    {"org.bluez.Device1": DEV_PROPS,
                                     "org.freedesktop.DBus.Properties": {}}),
        "props-only": wrapped("a{sv}", DEV_PROPS),
        "wrong-types": wrapped("a{sv}", {"Address": ("u", 1), "RSSI": ("i", -1), "Name": ("ay", [65]),
                                         "ManufacturerData": ("a{sv}", {"x": ("y", 1)})}),
        "whole-message": dbus_signal(DEV_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                     "sa{sv}as", "org.bluez.Device1", DEV_PROPS, []),
        "whole-interfaces-added": dbus_signal("/", "org.freedesktop.DBus.ObjectManager",
                                              "InterfacesAdded", "oa{sa{sv}}", DEV_PATH,
                                              {"org.bluez.Device1": DEV_PROPS}),
    }


def sightings_seeds():
    # params: max, forget/100-1, rssi_min+128, report_every/50
    params = bytes([4, 50, 128 - 90, 20])

    def update(addr, flags, rssi, name=None, beacon=None, dt=1):
        b = bytes([0, flags]) + bytes([addr]) + struct.pack("b", rssi)
        if name is not None:
            b += bytes([len(name)]) + name
        if beacon is not None:
            b += beacon
        return b + bytes([dt])

    return {
        "add-report-list": params + update(1, 1 | 2 | 8, -50, b"phone") + bytes([3, 1, 4, 0]),
        "beacon": params + update(2, 1 | 16 | 4, -70, beacon=IBEACON) + bytes([4, 10]),
        "evict": params + b"".join(update(i, 1, -40 - i) for i in range(8)) + bytes([7, 2]),
        "leave-expire": params + update(3, 1, -50) + bytes([3, 3]) + update(3, 1, -100, dt=200) +
        bytes([5, 1, 0, 2, 1, 3, 2, 4, 0]),
        "raw-addr": params + bytes([0, 1 | 32, 17]) + b"aa:bb:cc:dd:ee:0f" + bytes([0xC0, 5, 6, 15]),
        "name-cut": params + update(4, 1 | 2, -30, "\u00e9".encode() * 40) + bytes([4, 0]),
    }


def json_seeds():
    s = {"participant": PARTICIPANT, "meeting": MEETING, "meeting-json-content": MEETING_JSON_CONTENT,
         "auth": AUTH, "sim-adv": SIM_ADV, "ble": BLE, "presence": PRESENCE, "guide": GUIDE,
         "present": PRESENT, "scan": b'{"duration_ms":1000}', "motion": b'{"motion":false}',
         "health": b'{"status":"ok","uptime_ms":1234,"role":"ae"}',
         "granted": b'{"granted":[{"participant":"alice","name":"Alice","meeting":"m1","room":"R1"}],'
                    b'"denied":[]}',
         "nested": b'{"a":[1,2.5e3,-0,true,false,null,"\\u00e9\\ud83d\\ude00"],"b":{"c":{}}}  \n'}
    return s


RFC3339 = {
    "utc": b"2026-11-27T13:00:00Z", "fraction-offset": b"2026-11-27T13:00:00.123+01:00",
    "leap-second": b"2016-12-31T23:59:60Z", "feb29": b"2024-02-29T23:59:59.999999-05:30",
    "lower": b"1970-01-01t00:00:00z", "epoch-minus": b"1970-01-01T00:30:00+01:00",
    "late": b"9999-12-31T23:59:59.9Z",
}

ADV = {
    "addr": b"AA:BB:CC:DD:EE:FF", "addr-lower": b"0a:1b:2c:3d:4e:5f",
    "uuid": b"e2c56db5-dffb-48d2-b060-d0f5a71096e0",
    "ibeacon": b"\x00\x4c" + IBEACON, "path": DEV_PATH.encode(),
    "utf8": b"\x10" + "caf\u00e9 \u2603 \U0001f600 phone".encode(),
}

# A meeting's content as mrs's kiosk page renders it (src/render.c).
RENDER = {
    "markdown": b"# Agenda\n\n1. *one* <b onclick='x'>x</b>\n2. **two** ~~three~~\n\n"
                b"| a | b |\n|:-|-:|\n| [l](javascript:x) | ![i](http://y/z.png) |\n\n"
                b"> quoted\n> > twice\n\n- [x] done\n- [ ] todo\n\n```js\ncode <i>\n```\n"
                b"&copy; &#1; &#x41; &nope\nline\\\nbreak  \nhard\n",
    "plain": b"Budget review\nRoom R1, 10:00\n\tbring the numbers <2025>\n",
    "json-rows": b'[{"who":"Alice","topic":"<b>","n":1},{"who":"Bob","x":null,"y":{"z":[1,2]}}]',
    "json-object": b'{"Agenda":"Budget\\nline","Minutes":30,"Deep":{"a":{"b":{"c":{"d":{"e":{}}}}}}}',
}

# ---- dictionaries ----------------------------------------------------------

def dict_line(name, value):
    esc = "".join(chr(c) if 32 <= c < 127 and chr(c) not in '"\\' else "\\x%02x" % c for c in value)
    return '%s="%s"' % (name, esc)


COAP_DICT = [
    ("con_get", b"\x40\x01"), ("con_post", b"\x42\x02"), ("non_put", b"\x51\x03"),
    ("con_delete", b"\x40\x04"), ("ack", b"\x60\x00"), ("rst", b"\x70\x00"),
    ("payload", b"\xff"), ("observe", b"\x60"), ("observe1", b"\x61\x01"),
    ("cf_json", b"\x11\x32"), ("block1", b"\xd1\x0e"), ("block2", b"\xd1\x0a"),
    ("size1", b"\xd1\x2f"), ("uri_query", b"\x4b"), ("len_prefix", b"\x00\x20"),
]
COMMON_PATHS = ["health", "stats", ".well-known", "core"]
ROLE_PATHS = {
    "ae": ["auth", "participants", "meetings", "events", "backup", "since=0", "limit=1"],
    "mcs": ["presence", "ble", "participants", "timeline", "state=arrived", "limit=1", "since=0"],
    "pd": ["presence", "sim", "motion"],
    "bs": ["scan", "devices", "sim", "adv"],
    "ug": ["guide", "leds"],
    "mrs": ["present", "display"],
}
JSON_KEYS = ["id", "name", "ble", "irk", "participants", "title", "room", "building", "organizer",
             "start", "end", "content", "location", "uuid", "major", "minor", "tx_power", "addr",
             "rssi", "ttl_ms", "type", "ibeacon", "duration_ms", "participant", "meeting", "node",
             "ts_ms", "devices", "motion", "last_seen_ms", "uptime_ms", "granted", "denied",
             "identities", "ibeacons", "rotate_ms", "resolved"]
JSON_TOKENS = [b"true", b"false", b"null", b"{}", b"[]", b'":"', b'","', b"-1", b"1e308",
               b"\\u0000", b"\\ud800", b"2026-11-27T13:00:00Z", b"AA:BB:CC:DD:EE:01",
               b"entrance", b"random", b"public"]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def stack_seeds():
    """The committed building descriptions, and a few that are refused."""
    docs = os.path.join(HERE, "..", "..", "docs")
    seeds = {}
    for name in ("building.json", "building-three-rooms.json"):
        with open(os.path.join(docs, name), "rb") as f:
            seeds[name[:-len(".json")]] = f.read()
    small = (b'{"core":{"node":"c"},"guide":{"node":"g","leds":[5,6]},'
             b'"entrances":[{"id":"entrance","node":"e","pir":17}],'
             b'"rooms":[{"id":"R1","node":"r","pir":17,"route":[5,6]%s}]}')
    seeds["small"] = small % b""
    seeds["small-services"] = small % b',"services":{"pd":"p","bs":"b","mrs":"m"},"kiosk_port":"${K:-81}"'
    seeds["route-off-leds"] = small % b',"route":[7]'
    return seeds


def main(argv):
    out = argv[1] if len(argv) > 1 else HERE
    corpora = role_seeds()
    corpora.update({"bluez": bluez_seeds(), "sightings": sightings_seeds(), "json": json_seeds(),
                    "rfc3339": RFC3339, "adv": ADV, "render": RENDER, "stack": stack_seeds()})
    for target, seeds in sorted(corpora.items()):
        d = os.path.join(out, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if old.startswith("seed-"):
                os.remove(os.path.join(d, old))
        for name, data in sorted(seeds.items()):
            write(os.path.join(d, "seed-" + name), data)
    dd = os.path.join(out, "dict")
    os.makedirs(dd, exist_ok=True)
    json_lines = ['key_%s="\\"%s\\""' % (k, k) for k in JSON_KEYS]
    json_lines += [dict_line("tok%d" % i, t) for i, t in enumerate(JSON_TOKENS)]
    for role, paths in sorted(ROLE_PATHS.items()):
        lines = [dict_line(n, v) for n, v in COAP_DICT]
        # each segment as the first Uri-Path option (delta 11) and as a
        # following one (delta 0); a Uri-Query's delta depends on what precedes
        for p in COMMON_PATHS + paths:
            b, n = p.encode(), p.replace(".", "_").replace("=", "_")
            if len(b) < 13:
                lines.append(dict_line("path_" + n, bytes([0xb0 | len(b)]) + b))
                lines.append(dict_line("seg_" + n, bytes([len(b)]) + b))
            else:
                lines.append(dict_line("text_" + n, b))
        write(os.path.join(dd, role + ".dict"), ("\n".join(lines + json_lines) + "\n").encode())
    write(os.path.join(dd, "json.dict"), ("\n".join(json_lines) + "\n").encode())
    write(os.path.join(dd, "rfc3339.dict"), ("\n".join(
        dict_line(n, v) for n, v in [("t", b"T"), ("z", b"Z"), ("colon", b":"), ("dash", b"-"),
                                     ("dot", b"."), ("plus", b"+"), ("zero", b"00"),
                                     ("year", b"2026"), ("feb29", b"-02-29T")]) + "\n").encode())
    write(os.path.join(dd, "adv.dict"), ("\n".join(
        dict_line(n, v) for n, v in [("apple", b"\x00\x4c\x02\x15"), ("colon", b":"),
                                     ("prefix", b"/org/bluez/hci0/dev_"), ("us", b"_"),
                                     ("dash", b"-"), ("cont", b"\x80"), ("lead3", b"\xe2")]) + "\n").encode())
    write(os.path.join(dd, "render.dict"), ("\n".join(
        dict_line(n, v) for n, v in [
            ("h", b"# "), ("em", b"*"), ("strong", b"**"), ("del", b"~~"), ("code", b"`"),
            ("fence", b"\n```\n"), ("quote", b"\n> "), ("ul", b"\n- "), ("ol", b"\n1. "),
            ("task", b"- [x] "), ("row", b"| a | b |\n|:-|-:|\n"), ("link", b"[a](b)"),
            ("img", b"![a](b)"), ("auto", b"<http://a>"), ("tag", b"<b>"), ("ent", b"&amp;"),
            ("num", b"&#x41;"), ("br", b"  \n")]) + "\n").encode())
    write(os.path.join(dd, "stack.dict"), ("\n".join(
        ['key_%s="\\"%s\\""' % (k, k) for k in (
            "image", "core", "guide", "node", "leds", "active_low", "entrances", "rooms", "id",
            "pir", "pir_active_low", "adapter", "route", "kiosk_port", "services", "pd", "bs",
            "mrs")] +
        [dict_line(n, v) for n, v in [("var", b"${A:-8080}"), ("eq", b"=")]]) + "\n").encode())
    write(os.path.join(dd, "bluez.dict"), ("\n".join(
        dict_line(n, v.encode()) for n, v in [
            ("addr", "Address"), ("type", "AddressType"), ("rssi", "RSSI"), ("name", "Name"),
            ("mfg", "ManufacturerData"), ("svc", "ServiceData"), ("random", "random"),
            ("public", "public"), ("asv", "a{sv}"), ("aqv", "a{qv}"), ("ay", "ay"),
            ("sig_pc", "sa{sv}as"), ("sig_ia", "oa{sa{sv}}"), ("dev1", "org.bluez.Device1")]) +
        "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
