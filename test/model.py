#!/usr/bin/python3
r"""model.py - a model-based test of the meeting flow (issue 17, part 2).

A small reference model, in test code, of what the README promises:

  ae   the decision rule (participants and their addresses, meetings with
       room, building, start, end, organizer and invitees, --early before
       the start, the building rule) and the answers of its writes;
  mcs  one track per person, its visits (--visit-gap), guidance (ug) and
       its expiry (--expire, ug's own --expire), arrival, presentation
       (mrs), the resting states presenting, denied, expired, refused and
       ended, "already presented" (not guided again);
  mrs  what the room's display shows, following ae's current data;

and a driver that runs seeded, reproducible sequences of operations
against the REAL roles on loopback (bs sim: POST /sim/adv, pd sim:
POST /sim/motion, as test/flow.sh does), and after every operation
compares every observable answer with the model: POST ae/auth for every
address of the sequence at every location, ae's participants and
meetings, mcs's GET /participants, ug's GET /guide and every mrs's GET
/display.  Time-dependent answers are waited for with a bounded poll;
where the roles' timing makes two answers right (a meeting ending during
the request, mcs's one-second tick), the model allows both.

    model.py [--seeds 1,2,3 | --seed N] [--budget SECS] [--net 127.X.Y]
             [--dir DIR] [--attach] [--replay [--ops I,J,..]] [-v]

--seed N --replay runs one sequence and prints every operation and
check; --ops picks operations of that sequence (a shrunk reproduction, as
a failing run prints it).  Without --attach the roles are started here
(in --dir, on --net, and stopped at exit); with --attach they run already
(test/t0495-model.sh starts them; DIR/pids names them) and are restarted
here by their command line when a sequence restarts one.

A divergence is a model answer the roles did not give.  The ones whose
cause is known and reported are listed in KNOWN, each with the reason and
a test on the divergence that recognises it; they are printed as "known"
and the sequence goes on (or stops, if the model can no longer follow the
roles).  Any other divergence fails the run, after the failing sequence
is shrunk to the fewest operations that still fail the same way.

Debian's /usr/bin/python3, standard library only.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # nothing left in the tree by importing coap-raw.py

HERE = os.path.dirname(os.path.abspath(__file__))
COVER = {}      # what the model saw happen, counted: how much a run exercised
TIMES = {}      # seconds spent, by kind


def cover(what):
    COVER[what] = COVER.get(what, 0) + 1

# ---- CoAP over UDP, with coap-raw.py's encoding --------------------------------

_spec = importlib.util.spec_from_file_location("coapraw", os.path.join(HERE, "coap-raw.py"))
coapraw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coapraw)

CON, NON, ACK, RST = 0, 1, 2, 3
METHODS = {"GET": 1, "POST": 2, "PUT": 3, "DELETE": 4}
URI_PATH, CONTENT_FORMAT, URI_QUERY, BLOCK2 = 11, 12, 15, 23


class Coap:
    """One UDP socket, one confirmable request at a time; follows Block2
    and separate responses (acknowledging them).  request() returns
    (code, body): code "2.05" or "timeout"."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("0.0.0.0", 0))
        self.mid = random.randrange(0x10000)
        self.requests = 0

    def _one(self, addr, code, opts, payload, deadline):
        self.mid = (self.mid + 1) & 0xFFFF
        mid, token = self.mid, os.urandom(4)
        dgram = coapraw.encode(CON, code, mid, token, opts, payload)
        self.requests += 1
        wait, acked = 0.25, False
        next_send = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            if not acked and now >= next_send:
                self.sock.sendto(dgram, addr)
                next_send = now + wait
                wait = min(wait * 2, 2.0)
            self.sock.settimeout(max(0.001, min(deadline, next_send if not acked else deadline) - now))
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:          # ICMP port unreachable from a role restarting
                time.sleep(0.02)
                continue
            try:
                ans = coapraw.decode(data)
            except (IndexError, struct_error):
                continue
            mtype, acode, amid, atok, aopts, apay = ans
            if mtype == CON:         # a separate response, or anything: acknowledge
                self.sock.sendto(coapraw.encode(ACK, 0, amid, b"", []), src)
            if src != addr:
                continue
            if mtype == ACK and amid == mid and acode == "0.00":
                acked = True         # the answer comes separately
                continue
            if mtype == RST and amid == mid:
                return ("4.00", aopts, b"")
            if atok == token and acode != "0.00":
                return (acode, aopts, apay)

    def request(self, method, host, path, body=None, query=None, timeout=3.0, port=5683):
        addr = (host, port)
        opts = [(URI_PATH, p.encode()) for p in path.strip("/").split("/") if p]
        for q in (query or []):
            opts.append((URI_QUERY, q.encode()))
        payload = b""
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            opts.append((CONTENT_FORMAT, b"\x32"))
        deadline = time.monotonic() + timeout
        ans = self._one(addr, METHODS[method], opts, payload, deadline)
        if ans is None:
            return "timeout", b""
        code, aopts, data = ans
        out = data
        while BLOCK2 in aopts:
            v = int.from_bytes(aopts[BLOCK2][0], "big")
            num, more, szx = v >> 4, (v >> 3) & 1, v & 7
            if not more:
                break
            bopts = [o for o in opts if o[0] != CONTENT_FORMAT] + \
                [(BLOCK2, coapraw.uint_bytes(((num + 1) << 4) | szx))]
            ans = self._one(addr, METHODS[method], bopts, b"" if method == "GET" else payload,
                            deadline)
            if ans is None:
                return "timeout", b""
            code, aopts, data = ans
            out += data
        return code, out

    def json(self, method, host, path, body=None, query=None, timeout=3.0):
        code, data = self.request(method, host, path, body, query, timeout)
        try:
            return code, (json.loads(data) if data else None)
        except ValueError:
            return code, {"raw": data.decode("latin-1")}


struct_error = __import__("struct").error

# ---- the roles on loopback --------------------------------------------------------

# Timing of the run: short enough that meetings, visits and expiries pass
# within a sequence, long enough for a loaded two-core machine.
SCALE = 1.0


def set_scale(f):
    """Every time of the run, times f (a slow machine: an emulated or
    sanitized build)."""
    global SCALE, EARLY_MS, VISIT_GAP_MS, EXPIRE_MS, UG_EXPIRE_MS, REFRESH_MS, ADV_TTL_MS
    global TICK_MS, MARGIN_MS, FENCE_MS
    SCALE = f
    EARLY_MS = int(2000 * f)          # ae --early
    VISIT_GAP_MS = int(3000 * f)      # mcs --visit-gap
    EXPIRE_MS = int(5000 * f)         # mcs --expire
    UG_EXPIRE_MS = int(3000 * f)      # ug --expire (shorter than mcs's: README, case 8)
    REFRESH_MS = int(1000 * f)        # mrs --refresh
    ADV_TTL_MS = int(800 * f)         # a key in range of a bs this long
    TICK_MS = 1000 + int(100 * f)     # mcs checks expiry and ends once a second
    MARGIN_MS = int(150 * f)          # a role's own lag behind an instant
    FENCE_MS = int(300 * f)           # an operation keeps this far from an instant


set_scale(1.0)

HOSTS = {"ae": 1, "mcs": 2, "ug": 3, "pd-entrance": 4, "bs-entrance": 5, "pd-R1": 6,
         "bs-R1": 7, "bs-R2": 8, "pd-R2": 9, "mrs-R1": 10, "mrs-R2": 11}
ROOMS = ("R1", "R2")
ROLE_ORDER = ["ae", "ug", "mrs-R1", "mrs-R2", "mcs", "pd-entrance", "bs-entrance",
              "pd-R1", "bs-R1", "pd-R2", "bs-R2"]


def host(net, role):
    return "%s.%d" % (net, HOSTS[role])


def role_commands(nano, net, d, mrs_opts):
    """name -> argv of every role, as t0495 and --attach expect them."""
    u = lambda r: "coap://%s:5683" % host(net, r)
    lst = lambda r: "%s:5683" % host(net, r)
    cmds = {
        "ae": [nano, "ae", "--listen", lst("ae"), "--db", d + "/data/ae.db",
               "--backup-dir", d + "/backup", "--backup-interval", "0",
               "--early", "%dms" % EARLY_MS],
        "mcs": [nano, "mcs", "--listen", lst("mcs"), "--ae", u("ae"), "--ug", u("ug"),
                "--bs", u("bs-entrance"), "--bs-room", "R1=" + u("bs-R1"),
                "--bs-room", "R2=" + u("bs-R2"), "--pd-room", u("pd-R1"),
                "--mrs", "R1=" + u("mrs-R1"), "--mrs", "R2=" + u("mrs-R2"),
                "--visit-gap", "%dms" % VISIT_GAP_MS, "--expire", "%dms" % EXPIRE_MS,
                "--max-age", "%dms" % (2000 * SCALE), "--linger", "%dms" % (1000 * SCALE),
                "--watch", "500ms",
                "--retry-max", "500ms", "--max-tracks", "120"],
        "ug": [nano, "ug", "--listen", lst("ug"), "--leds", "sim:1,2,3,4",
               "--route", "R1=1,2,3", "--route", "R2=1,2,4",
               "--expire", "%dms" % UG_EXPIRE_MS],
    }
    for room in ROOMS:
        cmds["mrs-" + room] = [nano, "mrs", "--listen", lst("mrs-" + room), "--room", room,
                               "--ae", u("ae")] + \
            (["--refresh", "%dms" % REFRESH_MS] if "--refresh" in mrs_opts else []) + \
            (["--http", "off"] if "--http" in mrs_opts else [])
    for loc in ("entrance",) + ROOMS:
        cmds["pd-" + loc] = [nano, "pd", "--listen", lst("pd-" + loc), "--location", loc,
                             "--sensor", "sim", "--mcs", u("mcs"), "--hold", "100ms",
                             "--node", "pd-" + loc]
        cmds["bs-" + loc] = [nano, "bs", "--listen", lst("bs-" + loc), "--location", loc,
                             "--adapter", "sim", "--mcs", u("mcs"), "--forget", "%dms" % (3000 * SCALE),
                             "--report-every", "200ms"]
    return cmds


def mrs_options(nano):
    """The options this build's mrs knows (--refresh, its kiosk's --http)."""
    try:
        out = subprocess.run([nano, "mrs", "--help"], capture_output=True, text=True,
                             timeout=10)
        return out.stdout + out.stderr
    except OSError:
        return ""


class Roles:
    """The roles' processes: started here, or attached to (pids in
    DIR/pids, one "NAME PID" a line), and restarted by their command
    line.  Every process this object starts is stopped by its pid at exit;
    DIR/pids always names the live ones (the test's cleanup kills those)."""

    def __init__(self, nano, net, d, attach, coap):
        self.nano, self.net, self.dir, self.coap = nano, net, d, coap
        self.procs = {}          # name -> Popen, for those started here
        self.pids = {}
        self.started = {}        # name -> monotonic time of its start (here)
        self.cmds = role_commands(nano, net, d, mrs_options(nano))
        os.makedirs(d + "/data", exist_ok=True)
        self.env = dict(os.environ, NANO_INSECURE="1")
        self.env.pop("NANO_KEYS", None)
        if attach:
            with open(d + "/pids") as f:
                for line in f:
                    name, pid = line.split()
                    self.pids[name] = int(pid)
            missing = [n for n in ROLE_ORDER if n not in self.pids]
            if missing:
                raise RuntimeError("%s/pids names no %s" % (d, ", ".join(missing)))
            for name, pid in self.pids.items():
                self.started[name] = time.monotonic()
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        self.cmds[name] = [a.decode() for a in f.read().split(b"\0")[:-1]]
                except OSError:
                    pass
        else:
            try:
                for name in ROLE_ORDER:
                    self.start(name)
            except BaseException:
                self.stop_all()
                raise
        try:
            for name in ROLE_ORDER:
                self.wait_healthy(name)
        except BaseException:
            if not attach:
                self.stop_all()
            raise

    def _write_pids(self):
        tmp = self.dir + "/pids.tmp"
        with open(tmp, "w") as f:
            for name, pid in self.pids.items():
                f.write("%s %d\n" % (name, pid))
        os.replace(tmp, self.dir + "/pids")

    def start(self, name):
        if name in self.pids and self.alive(self.pids[name]):
            raise RuntimeError("%s runs already (pid %d)" % (name, self.pids[name]))
        log = open("%s/%s.log" % (self.dir, name), "ab")
        p = subprocess.Popen(self.cmds[name], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=self.env, cwd=self.dir)
        log.close()
        self.procs[name] = p
        self.pids[name] = p.pid
        self.started[name] = time.monotonic()
        self._write_pids()

    def alive(self, pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False

    def stop(self, name, sig=signal.SIGKILL):
        pid = self.pids.get(name)
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        p = self.procs.pop(name, None)
        deadline = time.monotonic() + 10
        if p:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                p.wait()
        else:
            while self.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        del self.pids[name]
        self._write_pids()

    def wait_healthy(self, name, secs=10):
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            code, _ = self.coap.request("GET", host(self.net, name), "health", timeout=0.5)
            if code == "2.05":
                return True
            time.sleep(0.05)
        raise RuntimeError("%s is not healthy (log: %s/%s.log)" % (name, self.dir, name))

    def restart(self, name, sig=signal.SIGKILL, before_start=None):
        self.stop(name, sig)
        if before_start:
            before_start()
        self.start(name)
        self.wait_healthy(name)

    def stop_all(self):
        for name in list(self.procs):
            try:
                os.kill(self.pids[name], signal.SIGTERM)
            except (ProcessLookupError, KeyError):
                pass
        for name, p in list(self.procs.items()):
            try:
                p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            self.pids.pop(name, None)
        self.procs = {}
        if os.path.exists(self.dir + "/pids"):
            self._write_pids()

# ---- the model ------------------------------------------------------------------

def ms_now():
    return int(time.time() * 1000)


def rfc(ms):
    """An epoch ms as ae writes it (UTC, .mmm only when not whole)."""
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return s + (".%03dZ" % (ms % 1000) if ms % 1000 else "Z")


def parse_rfc(s):
    """ae's answers are UTC with an optional .mmm."""
    import calendar
    base, frac = s[:19], s[19:]
    ms = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000
    if frac.startswith("."):
        ms += int((frac[1:].rstrip("Zz") + "000")[:3])
    return ms


class Person:
    def __init__(self, pid, name, ble, extra):
        self.id, self.name, self.ble, self.extra = pid, name, ble, list(extra)

    def addrs(self):
        return [self.ble] + [a for a in self.extra if a != self.ble]

    def copy(self):
        return Person(self.id, self.name, self.ble, self.extra)


class Meeting:
    def __init__(self, mid, title, room, building, start, end, organizer, invitees, content):
        self.id, self.title, self.room, self.building = mid, title, room, building
        self.start, self.end, self.organizer = start, end, organizer
        self.invitees, self.content = list(invitees), content

    def invited(self, pid):
        return pid == self.organizer or pid in self.invitees

    def copy(self):
        return Meeting(self.id, self.title, self.room, self.building, self.start, self.end,
                       self.organizer, self.invitees, self.content)


class Ae:
    """ae's data and its decision rule, as the README states them."""

    def __init__(self):
        self.people, self.meetings = {}, {}

    def copy(self):
        a = Ae()
        a.people = {k: v.copy() for k, v in self.people.items()}
        a.meetings = {k: v.copy() for k, v in self.meetings.items()}
        return a

    def owner(self, ble):
        for p in self.people.values():
            if ble in p.addrs():
                return p
        return None

    # writes: the code the README gives, and the change
    def write_person(self, p, put, keep_extra):
        old = self.people.get(p.id)
        if old and not put:
            return "4.09"
        if put and old and keep_extra:
            p = Person(p.id, p.name, p.ble, old.extra)
        for a in p.addrs():
            o = self.owner(a)
            if o and o.id != p.id:
                return "4.09"
        self.people[p.id] = p
        return "2.04" if old else "2.01"

    def delete_person(self, pid):
        if pid not in self.people:
            return "4.04"
        if any(m.organizer == pid for m in self.meetings.values()):
            return "4.09"
        del self.people[pid]
        for m in self.meetings.values():       # invitations go with them
            m.invitees = [i for i in m.invitees if i != pid]
        return "2.02"

    def post_meeting(self, m):
        """The code, or the codes when two errors apply (the README does not
        say which is checked first)."""
        bad = m.organizer not in self.people or any(i not in self.people for i in m.invitees) \
            or m.end <= m.start
        if bad or m.id in self.meetings:
            return frozenset((["4.00"] if bad else []) + (["4.09"] if m.id in self.meetings else []))
        self.meetings[m.id] = m
        return "2.01"

    def delete_meeting(self, mid):
        if mid not in self.meetings:
            return "4.04"
        del self.meetings[mid]
        return "2.02"

    # the decision rule
    def admits(self, m, t):
        return m.start - EARLY_MS <= t < m.end

    def building_of(self, loc, t):
        """README, the building rule: a room's building is known only from
        the meetings admitting now in it (the earliest that names one,
        none if none does); else the location itself if a meeting names it
        as its building; else unknown."""
        now_in_room = [m for m in self.meetings.values() if m.room == loc and self.admits(m, t)]
        if now_in_room:
            named = sorted((m for m in now_in_room if m.building), key=lambda m: (m.start, m.id))
            return named[0].building if named else None
        if any(m.building == loc for m in self.meetings.values()):
            return loc
        return None

    def decide(self, ble, loc, t):
        """("granted", participant, meeting, room, end) or ("denied",)."""
        p = self.owner(ble)
        if not p:
            return ("denied",)
        b = self.building_of(loc, t)
        cands = [m for m in self.meetings.values() if m.invited(p.id) and self.admits(m, t)
                 and (b is None or m.building is None or m.building == b)]
        if not cands:
            return ("denied",)
        m = sorted(cands, key=lambda m: (m.room != loc, m.start, m.id))[0]
        return ("granted", p.id, m.id, m.room, m.end)

    def instants(self):
        """When a decision may change by itself."""
        out = []
        for m in self.meetings.values():
            out += [m.start - EARLY_MS, m.end]
        return out


AT_REST = ("presenting", "denied", "expired", "refused", "ended")


class Track:
    n = 0

    def __init__(self, ble):
        Track.n += 1
        self.seq = Track.n
        self.addrs = [ble]
        self.participant = self.meeting = self.room = self.presented = None
        self.end = None
        self.state = "detected"
        self.visit = 0
        self.entrance_seen = None    # (lo, hi) ms
        self.room_asked = None       # ms
        self.room_asked_at = None
        self.guiding = None          # (lo, hi): when it began guiding
        self.alts = None             # states either of which may be true
        self.why = ""                # what the model did last, for reports

    def key(self):
        return self.participant or self.addrs[0]


class Display:
    def __init__(self, room):
        self.room = room
        self.shown = None
        self.attendees = []
        self.hidden = False

    def copy(self):
        d = Display(self.room)
        d.shown, d.attendees, d.hidden = self.shown, list(self.attendees), self.hidden
        return d

    def blank(self, hidden):
        self.shown, self.attendees, self.hidden = None, [], hidden


class Model:
    """The roles as the README describes them: ae's data, mcs's tracks,
    ug's guidances, the displays.  Times are epoch ms; a time-driven change
    (an expiry, an end) happens at an instant with a lag, and between the
    two either answer is right."""

    def __init__(self, flags=()):
        self.flags = set(flags)      # KNOWN divergences this model follows
        self.ae = Ae()
        self.backup = None
        self.display_cands = {}
        self.tracks = []
        self.guides = {}             # participant -> [room, since_lo, since_hi]
        self.displays = {r: Display(r) for r in ROOMS}
        self.notes = []              # what happened, for a report

    # -- lookups
    def track_of(self, ble):
        for t in self.tracks:
            if ble in t.addrs:
                return t
        return None

    def track_of_person(self, pid):
        for t in self.tracks:
            if t.participant == pid:
                return t
        return None

    # -- ug
    def ug_post(self, pid, room, lo, hi):
        g = self.guides.get(pid)
        if g and g[0] == room:
            return                   # idempotent: same since
        self.guides[pid] = [room, lo, hi]

    def ug_delete(self, pid):
        self.guides.pop(pid, None)

    # -- mrs
    def follow(self, d, t):
        """What mrs shows once it has read ae's current data (--refresh):
        a meeting gone, moved or over clears the screen; attendees no
        longer invited leave it."""
        if d.shown:
            m = self.ae.meetings.get(d.shown)
            if not m or m.room != d.room or t >= m.end:
                d.blank(False)
            else:
                d.attendees = [a for a in d.attendees if m.invited(a)]

    def present(self, room, pid, mid, t):
        """POST mrs/present: True if shown."""
        d = self.displays[room]
        self.follow(d, t)
        if d.shown and d.shown != mid and not self.ae.meetings[d.shown].invited(pid):
            d.blank(True)            # hide what they may not see, first
            cover("mrs hides for another meeting")
        m = self.ae.meetings.get(mid)
        if not m or m.room != room or t >= m.end:
            if d.shown == mid:
                d.blank(False)
            return False
        if not m.invited(pid):
            if d.shown == mid:
                d.blank(True)
            return False
        if d.shown != mid:
            d.shown, d.attendees, d.hidden = mid, [], False
        if pid not in d.attendees:
            d.attendees.append(pid)
        return True

    # -- time
    def commit(self, t):
        """Apply every time-driven change that is surely over by t."""
        for tr in self.tracks:
            if tr.state == "guiding":
                exp = (tr.guiding[0] + EXPIRE_MS, tr.guiding[1] + EXPIRE_MS + TICK_MS)
                end = (tr.end, tr.end + TICK_MS) if tr.end is not None else (1 << 62, 1 << 62)
                if t > min(exp[1], end[1]):
                    self.ug_delete(tr.participant)
                    if exp[1] < end[0] or end[0] > t:
                        tr.state, tr.why = "expired", "not arrived in --expire"
                        cover("mcs expired")
                    elif end[1] < exp[0] or exp[0] > t:
                        tr.state, tr.why = "ended", "the grant's end passed"
                        cover("mcs ended")
                    else:       # the two at about the same time: either
                        tr.state, tr.alts = "expired", {"expired", "ended"}
                        tr.why = "expired or ended, about at once"
                    continue
            if tr.state == "presenting" and tr.end is not None and tr.end + TICK_MS < t:
                tr.state, tr.why = "ended", "the grant's end passed"
                cover("mcs ended")
        for pid, g in list(self.guides.items()):
            if g[2] + UG_EXPIRE_MS + MARGIN_MS < t:
                del self.guides[pid]
        for d in self.displays.values():
            if d.shown:
                m = self.ae.meetings.get(d.shown)
                if not m or m.room != d.room or m.end + MARGIN_MS < t:
                    cover("mrs cleared: meeting gone or moved" if not m or m.room != d.room
                          else "mrs cleared at the end")
                    d.blank(False)
                else:
                    left = [a for a in d.attendees if m.invited(a)]
                    if left != d.attendees:
                        cover("mrs dropped an attendee no longer invited")
                    d.attendees = left

    def instants(self, only=None):
        """(instant, lag): when something changes by itself; an operation
        waits until none is near (test/model.py's fence)."""
        out = [(c, MARGIN_MS) for c in self.ae.instants()]
        for tr in self.tracks:
            out += self.track_instants(tr)
        for g in self.guides.values():
            out.append((g[1] + UG_EXPIRE_MS, g[2] - g[1] + MARGIN_MS))
        return out

    def track_instants(self, tr):
        out = []
        if tr.state == "guiding":
            hi = tr.guiding[1] if tr.guiding[1] is not None else tr.guiding[0]
            out.append((tr.guiding[0] + EXPIRE_MS, hi - tr.guiding[0] + TICK_MS))
        if tr.state in ("guiding", "presenting") and tr.end is not None:
            out.append((tr.end, TICK_MS))
        return out

    def states_at(self, tr, t):
        """The states tr may show at t: a time-driven change near t allows
        both (and of an expiry and an end close together, either first)."""
        if tr.alts:
            return set(tr.alts)
        if tr.state not in ("guiding", "presenting"):
            return {tr.state}
        never = (1 << 62, 1 << 62)
        end = (tr.end, tr.end + TICK_MS) if tr.end is not None else never
        exp = never
        if tr.state == "guiding":
            hi = tr.guiding[1] if tr.guiding[1] is not None else t
            exp = (tr.guiding[0] + EXPIRE_MS, hi + EXPIRE_MS + TICK_MS)
        s = set()
        if t < exp[1] and t < end[1]:
            s.add(tr.state)
        if t >= exp[0] and not end[1] < exp[0]:
            s.add("expired")
        if t >= end[0] and not exp[1] < end[0]:
            s.add("ended")
        return s

    # -- the flow (mcs), an arrival at a time t (the key advertised at t,
    # heard until t + ADV_TTL_MS, with motion)
    def new_track(self, ble):
        tr = Track(ble)
        self.tracks.append(tr)
        return tr

    def entrance(self, ble, t):
        tr = self.track_of(ble)
        seen = (t, t + ADV_TTL_MS)
        if tr:
            prev = tr.entrance_seen
            tr.entrance_seen = seen if not prev else (max(prev[0], t), max(prev[1], seen[1]))
            if tr.state not in AT_REST or (prev and t < prev[1] + VISIT_GAP_MS):
                tr.why = "same visit (seen at the entrance within --visit-gap)"
                cover("entrance: same visit")
                return
        else:
            tr = self.new_track(ble)
            tr.entrance_seen = seen
        tr.visit += 1
        self.ask(tr, ble, "entrance", t, None)

    def room(self, ble, room, t):
        tr = self.track_of(ble)
        if tr is None or (tr.state in AT_REST and not tr.participant):
            if tr and tr.room_asked is not None and t < tr.room_asked + VISIT_GAP_MS:
                tr.why = "not asked again within --visit-gap"
                return
            if tr is None:
                tr = self.new_track(ble)
            tr.visit += 1
            tr.room_asked, tr.room_asked_at = t, room
            self.ask(tr, ble, room, t, room)
            return
        if tr.state == "guiding" or (tr.state == "expired" and tr.participant):
            if tr.room == room:
                if tr.state == "expired":
                    cover("arrived after expiry")
                self.arrive(tr, room, t)
                return
            if tr.room_asked_at != room or t >= tr.room_asked + VISIT_GAP_MS:
                # in another room than ae chose: a meeting on now here?
                tr.room_asked, tr.room_asked_at = t, room
                cover("heard in another room: asked")
                d = self.ae.decide(ble, room, t)
                if d[0] == "granted" and d[3] == room:
                    self.granted(tr, ble, d, room, t, room)
                else:
                    tr.why = "no meeting for them at %s: as before" % room
            return
        tr.why = "%s: a room sighting changes nothing" % tr.state

    def ask(self, tr, ble, loc, t, room_seen):
        tr.alts = None
        d = self.ae.decide(ble, loc, t)
        if d[0] == "denied":
            tr.state, tr.why = "denied", "ae denied at %s" % loc
            cover("denied at " + ("entrance" if loc == "entrance" else "a room"))
            return
        self.granted(tr, ble, d, loc, t, room_seen)

    def granted(self, tr, ble, d, loc, t, room_seen):
        _, pid, mid, room, end = d
        o = self.track_of_person(pid)
        tr.alts = None
        if o is not None:
            o.alts = None
        renamed = tr.participant and tr.participant != pid and "handover-renames" in self.flags
        if renamed:
            # the roles: the old holder's track becomes the new holder's,
            # or goes into theirs
            cover("a device handed on")
            tr.presented = None
            if o is not None:
                self.tracks.remove(tr)
                o.addrs = tr.addrs + [a for a in o.addrs if a not in tr.addrs]
                tr.addrs = [ble]
                tr.participant = None
        if o is None and tr.participant and tr.participant != pid and not renamed:
            # a device handed on: it starts its new holder's visit afresh;
            # the old holder keeps their track
            tr.addrs.remove(ble)
            cover("a device handed on")
            o = self.new_track(ble)
            o.visit = 1
            o.entrance_seen = tr.entrance_seen if loc == "entrance" else None
            o.room_asked, o.room_asked_at = tr.room_asked, tr.room_asked_at
            tr = o
        elif o is not None and o is not tr:
            # one person, one track: the address joins theirs
            if ble in tr.addrs:
                tr.addrs.remove(ble)
            if not tr.addrs and not tr.participant and tr in self.tracks:
                self.tracks.remove(tr)
            if ble in o.addrs:
                o.addrs.remove(ble)
            o.addrs.insert(0, ble)
            # "the new address was heard at the entrance within --visit-gap"
            # (of their last time there, wherever it is heard now), "or in a
            # room while presenting"
            if tr.entrance_seen:
                heard = bool(o.entrance_seen) and \
                    tr.entrance_seen[0] < o.entrance_seen[1] + VISIT_GAP_MS
            else:
                heard = loc != "entrance" and o.state == "presenting"
            if o.state not in AT_REST or heard:
                if loc == "entrance":
                    o.entrance_seen = (t, t + ADV_TTL_MS) if not o.entrance_seen else \
                        (max(o.entrance_seen[0], t), max(o.entrance_seen[1], t + ADV_TTL_MS))
                o.why = "same person, the visit goes on"
                cover("same person, the visit goes on")
                on_way = o.state == "guiding" or (o.state == "expired" and o.participant)
                if room_seen and on_way and room == room_seen:
                    # guided to one room, heard in another where ae
                    # names a meeting on now: an arrival there
                    o.meeting, o.room, o.end = mid, room, end
                    self.arrive(o, room_seen, t)
                elif room_seen and on_way and o.room == room_seen:
                    self.arrive(o, room_seen, t)
                return
            o.visit += 1
            cover("same person, next visit")
            if loc == "entrance":
                o.entrance_seen = (t, t + ADV_TTL_MS)
            else:
                o.room_asked, o.room_asked_at = t, loc
            tr = o
        tr.participant, tr.meeting, tr.room, tr.end = pid, mid, room, end
        if tr.presented == mid:
            tr.state, tr.why = "presenting", "already presented; not guided again"
            cover("already presented; not guided again")
            return
        if room_seen and room_seen == room:
            cover("asked in a room: an arrival there")
            self.arrive(tr, room, t)
            return
        cover("guided from a room" if room_seen else "guided")
        tr.state, tr.why = "guiding", "granted %s in %s" % (mid, room)
        tr.guiding = (t, None)
        self.ug_post(pid, room, t, None)

    def arrive(self, tr, room, t):
        tr.alts = None
        self.ug_delete(tr.participant)
        if self.present(room, tr.participant, tr.meeting, t):
            tr.state, tr.presented, tr.why = "presenting", tr.meeting, "shown by mrs"
            cover("presented")
        else:
            tr.state, tr.why = "refused", "mrs said no"
            cover("refused by mrs")
        if tr.end is not None and t >= tr.end - MARGIN_MS:
            # after the grant's end: mcs's tick may say so before mrs answers
            tr.alts, tr.why = {tr.state, "ended"}, tr.why + ", or ended first"

    def settled(self, t):
        """The driver saw the flow settle at t: what began during the
        operation began by then."""
        for tr in self.tracks:
            if tr.guiding and tr.guiding[1] is None:
                tr.guiding = (tr.guiding[0], t)
        for g in self.guides.values():
            if g[2] is None:
                g[2] = t

    # -- restarts
    def mcs_restarted(self):
        self.tracks = []

    def ug_restarted(self, t):
        """mcs sends again the guidance ug lost (not what ug's own
        --expire ended)."""
        old, self.guides = self.guides, {}
        for pid, g in old.items():
            tr = self.track_of_person(pid)
            if tr and tr.state == "guiding" and t < g[1] + UG_EXPIRE_MS:
                self.guides[pid] = [g[0], t, None]
                cover("guidance sent again to a restarted ug")

    def mrs_restarted(self, room, t):
        """A restarted mrs gets its room's presented participants again;
        they go at once, so any order may be the last: the candidates."""
        import itertools
        self.displays[room] = Display(room)
        who = [tr for tr in self.tracks if tr.state == "presenting" and tr.room == room]
        cands = []
        for order in itertools.islice(itertools.permutations(who), 24):
            m = Model.__new__(Model)
            m.ae, m.flags, m.displays = self.ae, self.flags, {room: Display(room)}
            shown = [tr for tr in order if m.present(room, tr.participant, tr.meeting, t)]
            cands.append((m.displays[room], set(tr.participant for tr in shown)))
        if not cands:
            cands = [(Display(room), set())]
        for tr in who:
            ins = [tr.participant in s for _, s in cands]
            if not any(ins):
                tr.state, tr.why = "refused", "mrs, restarted, said no"
        self.display_cands[room] = [(d, s, [tr.participant for tr in who]) for d, s in cands]
        self.displays[room] = cands[0][0]

    def adopt_display(self, room, i):
        """The roles took candidate i (an order of presentations)."""
        d, shown, who = self.display_cands.pop(room)[i]
        self.displays[room] = d
        for tr in self.tracks:
            if tr.participant in who:
                if tr.participant in shown:
                    tr.state, tr.why = "presenting", "shown again by a restarted mrs"
                else:
                    tr.state, tr.why = "refused", "mrs, restarted, said no"

    # -- what the roles should answer at t
    def view(self, d, t):
        """A display as GET /display shows it (after following ae)."""
        d = d.copy()
        self.follow(d, t)
        if not d.shown:
            return (None, None, None, None, frozenset(), d.hidden)
        m = self.ae.meetings[d.shown]
        return (m.id, m.title, m.content, rfc(m.end), frozenset(d.attendees), False)

    def expect(self, t):
        ambiguous = set()
        for cands in self.display_cands.values():
            for d, shown, who in cands:
                ambiguous |= set(p for p in who
                                 if any((p in s2) != (p in shown) for _, s2, _ in cands))
        tracks = {}
        for tr in self.tracks:
            states = self.states_at(tr, t)
            if tr.participant in ambiguous:
                states = states | {"presenting", "refused"}
            tracks[tr.key()] = {"states": states, "participant": tr.participant,
                                "meeting": tr.meeting, "room": tr.room, "visit": tr.visit,
                                "why": tr.why}
        guides = {}
        for pid, g in self.guides.items():
            ok = {g[0]}
            hi = g[2] if g[2] is not None else t
            if t >= g[1] + UG_EXPIRE_MS - MARGIN_MS:
                ok = {g[0], None} if t < hi + UG_EXPIRE_MS + MARGIN_MS else {None}
            tr = self.track_of_person(pid)
            if not tr or self.states_at(tr, t) - {"guiding"}:
                ok = ok | {None}
            guides[pid] = ok
        displays = {}
        for room in ROOMS:
            cands = [c[0] for c in self.display_cands.get(room, [])] or [self.displays[room]]
            views = []
            for d in cands:
                for dt in (-MARGIN_MS, 0, MARGIN_MS):
                    v = self.view(d, t + dt)
                    if v not in views:
                        views.append(v)
            displays[room] = views
        return {"tracks": tracks, "guides": guides, "displays": displays}


# ---- the operations of a sequence --------------------------------------------------

NDEV = 10      # devices (keys) of a sequence: people's, second ones, strangers'


def generate(seed, nops):
    """The seed's operations: a list of dicts, meaningful without the
    roles (ids are indices; times are relative to when an operation
    runs), so a prefix or a subset can be replayed.  A rough plan of the
    sequence's own (who exists, which meetings are on when, who walks where)
    makes most arrivals count; what happens is the model's business."""
    r = random.Random(seed)
    ops = []
    clock = [0]                          # planned ms since the start
    people = {}                          # person -> device
    meetings = {}                        # meeting -> (room, [invited], start, end)
    walking = []                         # (due op count, device, room): on their way
    free = list(range(NDEV))
    r.shuffle(free)
    cost = {"arrive": 900, "restart": 1500, "wait": 0}

    def add(op):
        ops.append(op)
        clock[0] += op.get("ms", 0) if op["op"] == "wait" else cost.get(op["op"], 120)

    def person_op(i, method, dev, extra=None):
        op = {"op": "person", "p": i, "method": method, "dev": dev,
              "name": r.choice(["Ann", "Bo", "Cy", "Di", "Ed", "O'Neil", "Zo\u00eb"])}
        if extra is not None:
            op["extra"] = extra
        return op

    def meeting_op(i):
        names = list(people) or [0]
        org = r.choice(names)
        inv = sorted(set(r.sample(names, min(len(names), r.randint(1, 3)))) - {org})
        if r.random() < 0.08:
            inv = inv + [max(names) + 1]         # nobody: 4.00
        room = r.choice(ROOMS)
        start = r.choice([-3000, -1500, -500, 0, 1000, 2500]) + r.randint(0, 999)
        dur = r.randint(4000, 12000)
        meetings[i] = (room, [org] + inv, clock[0] + start, clock[0] + start + dur)
        return {"op": "meeting", "m": i, "room": room,
                "building": r.choice([None, None, None, "a", "b"]),
                "start": start, "dur": dur, "org": org, "inv": inv,
                "title": r.choice(["Kickoff", "Retro", "Budget", "1:1"]) + " %d" % r.randint(1, 99),
                "content": r.choice(["Agenda %d", "notes: *%d*", "line 1\nline %d"]) % r.randint(1, 999)}

    def on_now():
        return [(i, m) for i, m in meetings.items()
                if m[2] - EARLY_MS <= clock[0] + 500 and clock[0] + 1500 < m[3]]

    for i in range(r.randint(2, 4)):
        dev = free.pop()
        people[i] = dev
        add(person_op(i, r.choice(["POST", "PUT"]), dev))
    for i in range(r.randint(1, 2)):
        add(meeting_op(i))
    while len(ops) < nops:
        due = [w for w in walking if w[0] <= len(ops)]
        if due and r.random() < 0.7:
            w = due[0]
            walking.remove(w)
            add({"op": "arrive", "dev": w[1], "at": w[2]})
            if r.random() < 0.25:
                ops[-1]["motion"] = False                       # no motion: bs's report alone
            continue
        x = r.random()
        if x < 0.12:                                    # a story of issue 17
            now = on_now()
            invited = [(p, m) for i, m in now for p in m[1] if p in people]
            if not invited:
                continue
            p, m = r.choice(invited)
            mi = [i for i, mm in now if mm is m][0]
            story = r.choice(["handover", "second-device", "changed-while-shown",
                              "gone-while-walking", "restart-while-shown"])
            if story == "second-device":
                extra = free.pop() if free else r.randrange(NDEV)
                add(person_op(p, "PUT", people[p], [extra]))
                add({"op": "arrive", "dev": people[p], "at": "entrance"})
                add({"op": "arrive", "dev": extra, "at": r.choice([m[0], "entrance"])})
                continue
            add({"op": "arrive", "dev": people[p], "at": "entrance"})
            if story == "gone-while-walking":
                if r.random() < 0.5:
                    add({"op": "person-delete", "p": p})
                    people.pop(p)
                else:
                    add({"op": "meeting-delete", "m": mi})
                    meetings.pop(mi)
                add({"op": "arrive", "dev": [d for q, d in people.items() if q == p][0]
                     if p in people else ops[-2]["dev"], "at": m[0]})
                continue
            add({"op": "arrive", "dev": people[p], "at": m[0]})
            if story == "handover" and len(people) >= 2:
                q = r.choice([q for q in people if q != p])
                new = free.pop() if free else r.randrange(NDEV)
                add({"op": "move", "p": p, "q": q, "dev": new})
                people[q], people[p] = people[p], new
                add({"op": "wait", "ms": 3500})            # past --visit-gap
                add({"op": "arrive", "dev": people[q], "at": "entrance"})
                walking.append((len(ops), people[q], m[0]))
            elif story == "changed-while-shown":
                add({"op": "meeting-delete", "m": mi})
                add(meeting_op(mi))
            elif story == "restart-while-shown":
                add({"op": "restart", "role": "mrs-" + m[0]})
        elif x < 0.36:                                    # someone comes in
            now = on_now()
            invited = [(p, m) for i, m in now for p in m[1] if p in people]
            pick = r.random()
            if invited and pick < 0.75:
                p, m = r.choice(invited)
                dev, room = people[p], m[0]
            elif pick < 0.9 and people:
                dev = r.choice(list(people.values()))
                room = r.choice(ROOMS)
            else:
                dev, room = r.randrange(NDEV), r.choice(ROOMS)    # a stranger, a badge..
            if r.random() < 0.15:
                add({"op": "arrive", "dev": dev, "at": room})   # a fast walker
                if r.random() < 0.3:
                    ops[-1]["motion"] = False                   # bs's report alone
            else:
                add({"op": "arrive", "dev": dev, "at": "entrance"})
                if r.random() < 0.8:
                    walking.append((len(ops) + r.choice([0, 0, 1, 2, 4]), dev,
                                    room if r.random() < 0.85 else r.choice(ROOMS)))
        elif x < 0.43:
            add({"op": "wait", "ms": r.choice([300, 800, 1500, 2500, 4000])})
        elif x < 0.46:
            add({"op": "wait", "until": "change"})
        elif x < 0.51 and len(people) < 6:
            i = max(list(people) + [-1]) + 1
            dev = free.pop() if free else r.randrange(NDEV)
            people[i] = dev
            extra = [free.pop() if free else r.randrange(NDEV)] if r.random() < 0.3 else None
            add(person_op(i, "POST", dev, extra))
        elif x < 0.55 and people:                      # replaced
            i = r.choice(list(people))
            dev = people[i] if r.random() < 0.6 else r.randrange(NDEV)
            people[i] = dev
            extra = r.choice([None, [], [r.randrange(NDEV)]])
            add(person_op(i, "PUT", dev, extra))
        elif x < 0.59 and len(people) >= 2:            # a device handed on
            p, q = r.sample(list(people), 2)
            new = free.pop() if free else r.randrange(NDEV)
            add({"op": "move", "p": p, "q": q, "dev": new})
            people[q], people[p] = people[p], new
        elif x < 0.63 and people:
            i = r.choice(list(people))
            add({"op": "person-delete", "p": i})
            if r.random() < 0.7:
                people.pop(i)
        elif x < 0.76:
            i = r.choice(list(meetings)) if meetings and r.random() < 0.4 else \
                max(list(meetings) + [-1]) + 1
            if i in meetings and r.random() < 0.8:      # changed: deleted and posted again
                add({"op": "meeting-delete", "m": i})
            add(meeting_op(i))
        elif x < 0.82 and meetings:
            i = r.choice(list(meetings))
            add({"op": "meeting-delete", "m": i})
            meetings.pop(i)
        elif x < 0.85:
            add({"op": "backup"})
        else:
            add({"op": "restart", "role": r.choice(
                ["ae", "ae-term", "ae-restore", "ae-restore", "mcs", "ug", "mrs-R1", "mrs-R2"])})
    return ops[:nops]


def op_text(i, op):
    o = dict(op)
    kind = o.pop("op")
    return "%3d %-14s %s" % (i, kind, " ".join("%s=%s" % (k, json.dumps(v, ensure_ascii=False))
                                                for k, v in o.items()))


# ---- known divergences ----------------------------------------------------------

# Each is a flag of the model: a variant that behaves as the roles do
# today.  A divergence that the variant explains (all of it, at the
# operation where it shows) is that known case: printed, counted, and the
# sequence goes on with the variant.  presenting-not-shown is no variant:
# it is checked on the roles' answers (Run.presenting_not_shown).  A case
# leaves this list when it is fixed, so that it cannot come back unseen.
KNOWN = {
    # an invariant of the README ("presenting (mrs shows them)") that mcs
    # does not keep: checked on the roles' own answers, by cause
    "presenting-not-shown":
        "mcs says presenting while the room's display does not show them: mcs is not told "
        "when mrs stops showing someone (meeting deleted, moved or ended early, participant "
        "no longer invited or deleted, the screen taken by another meeting)",
    "handover-renames":
        "a device handed on (ae names its address as someone else's now): mcs turns the old "
        "holder's track into the new holder's (or merges it into theirs), so the old holder "
        "loses their track, visit count and 'already presented' (guided again to a meeting "
        "they were shown in), and the new holder's first visit counts on from the old one's",
}


# ---- the driver -------------------------------------------------------------------

class Divergence(Exception):
    pass


def dev_addr(tag, i):
    h = hashlib.sha1(("%s/%d" % (tag, i)).encode()).digest()
    return "C2:" + ":".join("%02X" % b for b in h[:5])


class Run:
    """One sequence against the roles: its ids, its model, its checks."""

    def __init__(self, drv, seed, ops, idx, tag, verbose):
        self.drv, self.c, self.net = drv, drv.coap, drv.net
        self.seed, self.ops, self.idx, self.tag, self.verbose = seed, ops, idx, tag, verbose
        self.prefix = "s%d-%s" % (seed, tag)
        self.model = Model()
        self.devs = [dev_addr(self.prefix, i) for i in range(NDEV)]
        self.last_adv = {}
        self.cut = None              # operations run, when the budget cut it short
        self.known = []              # (op index, KNOWN key)
        self.noted = set()
        self.notes = []
        self.checks = 0

    # names: every character the README allows in an id, now and then
    PID_STYLES = ("p%d", "p%d", "o'p%d", "p%d~x", "(p%d)", "p%d+1,2;3=$&!*", "p%d@x.y")
    MID_STYLES = ("m%d", "m%d", "m%d:10:00~R2", "m%d.v2", "m%d@R1")

    def pid(self, i):
        style = self.PID_STYLES[random.Random("p%d/%d" % (self.seed, i)).randrange(7)]
        return "%s-%s" % (self.prefix, style % i)

    def mid(self, i):
        style = self.MID_STYLES[random.Random("m%d/%d" % (self.seed, i)).randrange(5)]
        return "%s-%s" % (self.prefix, style % i)

    def building(self, x):
        return None if x is None else "B%s%s" % (self.prefix.replace("-", "_"), x)

    def local(self, name):
        """A readable name for reports: p1, m0, D3."""
        if isinstance(name, str):
            if name.startswith(self.prefix + "-"):
                return name[len(self.prefix) + 1:]
            if name in self.devs:
                return "D%d" % self.devs.index(name)
        return name

    def h(self, role):
        return host(self.net, role)

    def say(self, msg):
        if self.verbose:
            print("# " + msg, flush=True)

    # ---- setting up: ae holds only this sequence's data, displays blank
    def setup(self):
        c = self.c
        code, d = c.json("GET", self.h("ae"), "meetings")
        for m in (d or {}).get("meetings", []):
            c.request("DELETE", self.h("ae"), "meetings/" + m["id"])
        code, d = c.json("GET", self.h("ae"), "participants")
        for p in (d or {}).get("participants", []):
            c.request("DELETE", self.h("ae"), "participants/" + p["id"])
        # An earlier sequence's track still presenting would be presented
        # again by a restarted mrs (its meeting gone, it hides the screen):
        # a fresh mcs then.
        _, d = c.json("GET", self.h("mcs"), "participants")
        if any(t["state"] in ("presenting", "arrived") for t in (d or {}).get("participants", [])):
            self.drv.roles.restart("mcs", signal.SIGTERM)
        deadline = time.monotonic() + 25
        for room in ROOMS:
            while True:
                code, d = c.json("GET", self.h("mrs-" + room), "display")
                if code == "2.05" and d["meeting"] is None:
                    self.model.displays[room].hidden = d["hidden"]
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("mrs %s never went blank: %s" % (room, d))
                time.sleep(0.2)

    # ---- waiting for what must not happen during an operation
    def fence(self, op):
        kind = op["op"]
        if kind not in ("arrive", "restart"):
            return
        if kind == "restart":
            # mcs tells a restart by the peer's uptime, with 1.5 s of slack
            # for clocks: one that lived less (or that mcs never saw) is
            # not taken for a restart.  Reported; not what this test is after.
            role = "ae" if op["role"].startswith("ae") else op["role"]
            for r in (role, "mcs"):     # and mcs must have seen the old one
                up = self.drv.roles.started.get(r)
                if up is not None and time.monotonic() < up + 2.5 * SCALE:
                    time.sleep(up + 2.5 * SCALE - time.monotonic())
        window = int(1200 * SCALE) if kind == "arrive" else int(2500 * SCALE)
        for _ in range(40):
            now = ms_now()
            self.model.commit(now)
            until = now
            if kind == "arrive":
                # one place at a time: earlier keys there, and this key
                # elsewhere, out of range first
                until = max(until, self.last_adv.get(op["at"], 0) + ADV_TTL_MS + MARGIN_MS,
                            self.last_adv.get(op["dev"], 0) + ADV_TTL_MS + MARGIN_MS)
            inst = self.relevant_instants(op)
            why = "key in range" if until > now else ""
            for c, lag in inst:
                if c - FENCE_MS < now + window and c + lag + FENCE_MS > now:
                    if c + lag + FENCE_MS > until:
                        why = "instant %+d ms lag %d" % (c - now, lag)
                    until = max(until, c + lag + FENCE_MS)
            if until <= now:
                return
            if os.environ.get("MODEL_DEBUG"):
                self.say("fence: %d ms (%s)" % (until - now, why))
            time.sleep(min(until - now, 8000) / 1000.0)

    def leave(self, op, x):
        """The key goes out of range at once (it was there long enough for
        the flow): the next arrival need not wait for its ttl."""
        at, ble = op["at"], self.devs[op["dev"]]
        self.c.request("POST", self.h("bs-" + at), "sim/adv",
                       {"addr": ble, "rssi": -55, "name": "key", "ttl_ms": 1})
        gone = ms_now() + 20
        if gone < x["t"] + ADV_TTL_MS:
            self.last_adv[at] = self.last_adv[op["dev"]] = gone - ADV_TTL_MS
            for tr in self.model.tracks:
                if tr.entrance_seen and tr.entrance_seen[0] == x["t"] and at == "entrance":
                    tr.entrance_seen = (tr.entrance_seen[0], min(tr.entrance_seen[1], gone))

    def relevant_instants(self, op):
        """The instants near which op's outcome would depend on the roles'
        timing: the meetings and tracks it may touch."""
        m, out = self.model, []
        if op["op"] == "arrive":
            ble, at = self.devs[op["dev"]], op["at"]
            tr = m.track_of(ble)
            owner = m.ae.owner(ble)
            people = set(x for x in (owner and owner.id, tr and tr.participant) if x)
            tracks = [x for x in m.tracks if x is tr or (x.participant and x.participant in people)]
            shown = m.displays[at].shown if at in m.displays else None
            for mt in m.ae.meetings.values():
                if mt.room == at or any(mt.invited(p) for p in people) or mt.id == shown:
                    out += [(mt.start - EARLY_MS, MARGIN_MS), (mt.end, MARGIN_MS)]
            for x in tracks:
                out += m.track_instants(x)
            out += self.visit_instants(ble, at)
        elif op["op"] == "restart" and op["role"] == "ug":
            for g in m.guides.values():
                out.append((g[1] + UG_EXPIRE_MS, (g[2] or g[1]) - g[1] + MARGIN_MS))
            for x in m.tracks:
                out += m.track_instants(x)
        elif op["op"] == "restart" and op["role"].startswith("mrs-"):
            room = op["role"][4:]
            for mt in m.ae.meetings.values():
                if mt.room == room:
                    out.append((mt.end, MARGIN_MS))
            for x in m.tracks:
                if x.room == room:
                    out += m.track_instants(x)
        return out

    def visit_instants(self, ble, at):
        """When the arrival of ble at `at` turns from one visit to the
        next (--visit-gap)."""
        out = []
        m = self.model
        tr = m.track_of(ble)
        owner = m.ae.owner(ble)
        o = m.track_of_person(owner.id) if owner else None
        for x in (tr, o):
            if x is None:
                continue
            if x.entrance_seen:
                out.append((x.entrance_seen[0] + VISIT_GAP_MS,
                            x.entrance_seen[1] - x.entrance_seen[0]))
            if x.room_asked is not None:
                out.append((x.room_asked + VISIT_GAP_MS, MARGIN_MS))
        return out

    # ---- one operation, on the roles and on a model
    def execute(self, op):
        """Do op on the roles; what the model needs to follow it."""
        c, kind, x = self.c, op["op"], {"t": ms_now()}
        m = self.model
        if kind == "person":
            body = {"name": op["name"], "ble": self.devs[op["dev"]]}
            if "extra" in op:
                body["identities"] = [{"ble": self.devs[i]} for i in op["extra"]]
            if op["method"] == "POST":
                body["id"] = self.pid(op["p"])
                x["code"] = c.request("POST", self.h("ae"), "participants", body)[0]
            else:
                x["code"] = c.request("PUT", self.h("ae"), "participants/" + self.pid(op["p"]),
                                      body)[0]
        elif kind == "move":
            p, q = m.ae.people.get(self.pid(op["p"])), m.ae.people.get(self.pid(op["q"]))
            x["old"] = p.ble if p else None
            x["codes"] = [c.request("PUT", self.h("ae"), "participants/" + self.pid(op["p"]),
                                    {"name": p.name if p else "P", "ble": self.devs[op["dev"]]})[0]]
            if x["old"]:
                x["codes"].append(c.request(
                    "PUT", self.h("ae"), "participants/" + self.pid(op["q"]),
                    {"name": q.name if q else "Q", "ble": x["old"]})[0])
        elif kind == "person-delete":
            x["code"] = c.request("DELETE", self.h("ae"), "participants/" + self.pid(op["p"]))[0]
        elif kind == "meeting":
            x["start"] = x["t"] + op["start"]
            x["end"] = x["start"] + op["dur"]
            body = {"id": self.mid(op["m"]), "title": op["title"], "room": op["room"],
                    "start": rfc(x["start"]), "end": rfc(x["end"]),
                    "organizer": self.pid(op["org"]),
                    "participants": [self.pid(i) for i in op["inv"]], "content": op["content"]}
            if op["building"]:
                body["building"] = self.building(op["building"])
            x["code"] = c.request("POST", self.h("ae"), "meetings", body)[0]
        elif kind == "meeting-delete":
            x["code"] = c.request("DELETE", self.h("ae"), "meetings/" + self.mid(op["m"]))[0]
        elif kind == "arrive":
            at = op["at"]
            x["t"] = ms_now()
            self.last_adv[at] = self.last_adv[op["dev"]] = x["t"]
            code, _ = c.request("POST", self.h("bs-" + at), "sim/adv",
                                {"addr": self.devs[op["dev"]], "rssi": -55, "name": "key",
                                 "ttl_ms": ADV_TTL_MS})
            if op.get("motion", True):       # else only bs's own report (a room's)
                c.request("POST", self.h("pd-" + at), "sim/motion", {"motion": True})
                time.sleep(0.08 * SCALE)
                c.request("POST", self.h("pd-" + at), "sim/motion", {"motion": False})
            if code != "2.01":
                raise RuntimeError("bs %s refused the key: %s" % (at, code))
        elif kind == "wait":
            if "ms" in op:
                time.sleep(op["ms"] * SCALE / 1000.0)
            else:
                now = ms_now()
                later = sorted(c0 + lag for c0, lag in m.instants() if c0 + lag > now + FENCE_MS)
                time.sleep(min((later[0] + 400 - now) if later else 1000, 6000) / 1000.0)
        elif kind == "backup":
            x["code"] = c.request("POST", self.h("ae"), "backup")[0]
        elif kind == "restart":
            role = op["role"]
            if role == "ae-restore":
                if m.backup is None:
                    x["backup"] = c.request("POST", self.h("ae"), "backup")[0]
                code, st = c.json("GET", self.h("ae"), "stats")
                x["last_event"] = (st or {}).get("last_event", 0)

                def lose_db():
                    for f in ("ae.db", "ae.db-wal", "ae.db-shm"):
                        try:
                            os.unlink(os.path.join(self.drv.dir, "data", f))
                        except FileNotFoundError:
                            pass
                self.drv.roles.restart("ae", signal.SIGKILL, lose_db)
                code, ev = c.json("GET", self.h("ae"), "events", query=
                                  ["since=%d" % x["last_event"], "limit=1000"])
                x["events"] = (ev or {}).get("events", [])
            elif role == "ae-term":
                self.drv.roles.restart("ae", signal.SIGTERM)
            elif role == "ug" or role.startswith("mrs-"):
                # mcs notices by the uptime in the role's /health: what it
                # does then (guidance again, presentations again) is from then
                peer = "ug" if role == "ug" else "mrs " + role[4:]
                before = self.peer_restarts(peer)
                self.drv.roles.restart(role, signal.SIGKILL)
                deadline = time.monotonic() + 6 * SCALE
                while self.peer_restarts(peer) == before and time.monotonic() < deadline:
                    time.sleep(0.05)
                x["noticed"] = self.peer_restarts(peer) != before
            else:
                self.drv.roles.restart(role, signal.SIGKILL)
            x["t_up"] = ms_now()
        return x

    def peer_restarts(self, peer):
        _, d = self.c.json("GET", self.h("mcs"), "health")
        return ((d or {}).get("peers", {}).get(peer) or {}).get("restarts")

    def apply(self, model, op, x):
        """Follow op on model; the codes ae should answer."""
        kind, ae = op["op"], model.ae
        if kind == "person":
            extra = [self.devs[i] for i in op.get("extra", [])]
            p = Person(self.pid(op["p"]), op["name"], self.devs[op["dev"]], extra)
            return {"code": ae.write_person(p, op["method"] == "PUT", "extra" not in op)}
        if kind == "move":
            p, q = ae.people.get(self.pid(op["p"])), ae.people.get(self.pid(op["q"]))
            codes = [ae.write_person(Person(self.pid(op["p"]), p.name if p else "P",
                                            self.devs[op["dev"]], []), True, True)]
            if x["old"]:
                codes.append(ae.write_person(Person(self.pid(op["q"]), q.name if q else "Q",
                                                    x["old"], []), True, True))
            return {"codes": codes}
        if kind == "person-delete":
            return {"code": ae.delete_person(self.pid(op["p"]))}
        if kind == "meeting":
            mt = Meeting(self.mid(op["m"]), op["title"], op["room"], self.building(op["building"]),
                         x["start"], x["end"], self.pid(op["org"]),
                         [self.pid(i) for i in op["inv"]], op["content"])
            return {"code": ae.post_meeting(mt)}
        if kind == "meeting-delete":
            return {"code": ae.delete_meeting(self.mid(op["m"]))}
        if kind == "arrive":
            ble = self.devs[op["dev"]]
            if op["at"] == "entrance":
                model.entrance(ble, x["t"])
            else:
                model.room(ble, op["at"], x["t"])
            return {}
        if kind == "backup":
            model.backup = ae.copy()
            return {"code": "2.01"}
        if kind == "restart":
            role = op["role"]
            if role == "ae-restore":
                if model.backup is None:
                    model.backup = ae.copy()
                model.ae = model.backup.copy()
                return {"restore_event": True}
            if role == "ae-term":
                model.backup = ae.copy()     # SIGTERM writes a backup
            elif role == "mcs":
                model.mcs_restarted()
            elif role == "ug":
                model.ug_restarted(x["t_up"])
            elif role.startswith("mrs-"):
                model.mrs_restarted(role[4:], x["t_up"])
            return {}
        return {}

    # ---- looking at the roles
    def observe_flow(self):
        c = self.c
        t0 = ms_now()
        _, parts = c.json("GET", self.h("mcs"), "participants")
        _, guide = c.json("GET", self.h("ug"), "guide")
        disp = {r: c.json("GET", self.h("mrs-" + r), "display")[1] for r in ROOMS}
        t1 = ms_now()
        mine = set(self.devs)
        tracks = [t for t in (parts or {}).get("participants", [])
                  if (t.get("participant") or "").startswith(self.prefix + "-") or
                  t["ble"] in mine or mine & set(t.get("addresses", []))]
        guides = [g for g in (guide or {}).get("active", [])
                  if g["participant"].startswith(self.prefix + "-")]
        return {"t0": t0, "t1": t1, "tracks": tracks, "guides": guides, "displays": disp}

    def observe_ae(self):
        c, out = self.c, {}
        _, d = c.json("GET", self.h("ae"), "participants")
        out["people"] = (d or {}).get("participants")
        _, d = c.json("GET", self.h("ae"), "meetings")
        out["meetings"] = (d or {}).get("meetings")
        out["auth"] = []
        for loc in ("entrance",) + ROOMS + (self.building("a"), self.building("b")):
            t0 = ms_now()
            # any case, answered upper-case; the same device twice is one decision
            asked = self.devs + [self.devs[self.checks % NDEV].lower()]
            code, d = c.json("POST", self.h("ae"), "auth", {"ble": asked, "location": loc})
            out["auth"].append((loc, t0, ms_now(), code, d))
        return out

    # ---- comparing (pure: a variant of the model is compared with the same answers)
    def compare_flow(self, model, obs):
        diffs = []
        e0, e1 = model.expect(obs["t0"]), model.expect(obs["t1"])
        real = {}
        for t in obs["tracks"]:
            k = t.get("participant") or t["ble"]
            if k in real:
                diffs.append(("mcs", self.local(k), "one track", "two tracks", ""))
            real[k] = t
        for k, e in e0["tracks"].items():
            states = e["states"] | e1["tracks"].get(k, e)["states"]
            r = real.pop(k, None)
            if r is None:
                diffs.append(("mcs", self.local(k), sorted(states), "no track", e["why"]))
                continue
            if r["state"] not in states:
                diffs.append(("mcs", self.local(k), "/".join(sorted(states)), r["state"], e["why"]))
            if e["participant"]:
                want = (e["meeting"], e["room"], e["visit"])
                got = (r.get("meeting"), r.get("room"), r.get("visit"))
                if want != got:
                    diffs.append(("mcs", self.local(k), "meeting,room,visit=%s" % (
                        tuple(self.local(v) for v in want),), tuple(self.local(v) for v in got),
                        e["why"]))
        for k, r in real.items():
            diffs.append(("mcs", self.local(k), "no track", r["state"], ""))
        realg = {g["participant"]: g["room"] for g in obs["guides"]}
        for pid in set(e0["guides"]) | set(e1["guides"]) | set(realg):
            ok = e0["guides"].get(pid, {None}) | e1["guides"].get(pid, {None})
            if realg.get(pid) not in ok:
                diffs.append(("ug", self.local(pid), sorted(ok, key=str), realg.get(pid), ""))
        for room in ROOMS:
            d = obs["displays"][room]
            if not d:
                diffs.append(("mrs", room, "a display", "no answer", ""))
                continue
            v = (d["meeting"], d["title"], d["content"], d.get("end"),
                 frozenset(a["participant"] for a in d["attendees"]), d["hidden"])
            views = e0["displays"][room] + e1["displays"][room]
            if v not in views:
                diffs.append(("mrs", room, " or ".join(self.show_view(w) for w in views),
                              self.show_view(v), ""))
        return diffs

    def show_view(self, v):
        if v[0] is None:
            return "blank%s" % (" (hidden)" if v[5] else "")
        return "%s %r %r end=%s attendees=%s" % (self.local(v[0]), v[1], v[2], v[3][11:],
                                                  sorted(self.local(a) for a in v[4]))

    def compare_ae(self, model, obs):
        diffs = []
        ae = model.ae
        if obs["people"] is None or obs["meetings"] is None:
            return [("ae", "lists", "answered", "no answer", "")]
        real = {}
        for p in obs["people"]:
            ids = sorted(i["ble"] for i in p.get("identities", []) if "ble" in i)
            real[p["id"]] = (p["name"], p["ble"], ids)
        want = {p.id: (p.name, p.ble, sorted(set(p.extra))) for p in ae.people.values()}
        if real != want:
            for k in sorted(set(real) | set(want)):
                if real.get(k) != want.get(k):
                    diffs.append(("ae-people", self.local(k), want.get(k), real.get(k), ""))
        real = {}
        for m in obs["meetings"]:
            real[m["id"]] = (m["title"], m["room"], m.get("building"), m["organizer"],
                             m["start"], m["end"], sorted(m["participants"]))
        want = {m.id: (m.title, m.room, m.building, m.organizer, rfc(m.start), rfc(m.end),
                       sorted(set(m.invitees) | {m.organizer})) for m in ae.meetings.values()}
        if real != want:
            for k in sorted(set(real) | set(want)):
                if real.get(k) != want.get(k):
                    diffs.append(("ae-meetings", self.local(k), want.get(k), real.get(k), ""))
        for loc, t0, t1, code, d in obs["auth"]:
            if code != "2.05":
                diffs.append(("auth", loc, "2.05", code, ""))
                continue
            answered = d["denied"] + [g["ble"] for g in d["granted"]]
            if sorted(answered) != sorted(self.devs):
                diffs.append(("auth", loc, "one decision for each of %d devices, upper-case" %
                              NDEV, sorted(self.local(a) for a in answered), ""))
            got = {b: ("denied",) for b in d["denied"]}
            for g in d["granted"]:
                got[g["ble"]] = ("granted", g["participant"], g["meeting"], g["room"],
                                 parse_rfc(g["end"]))
            for b in self.devs:
                ok = {ae.decide(b, loc, t0 - 50), ae.decide(b, loc, t1 + 50)}
                if got.get(b) not in ok:
                    diffs.append(("auth", "%s at %s" % (self.local(b), self.local(loc)),
                                  " or ".join(self.show_decision(o) for o in ok),
                                  self.show_decision(got.get(b)), ""))
        return diffs

    def show_decision(self, d):
        if not d:
            return "nothing"
        if d[0] == "denied":
            return "denied"
        return "granted %s %s %s end=%s" % (self.local(d[1]), self.local(d[2]), d[3],
                                            rfc(d[4])[11:])

    def compare_codes(self, model, op, x, want):
        diffs = []
        for k in ("code", "codes"):
            if k not in want:
                continue
            w, got = want[k], x.get(k)
            if k == "code":
                w, got = [w], [got]
            ok = len(w) == len(got) and all(
                g in (c if isinstance(c, frozenset) else {c}) for c, g in zip(w, got))
            if not ok:
                diffs.append(("ae-code", op["op"], w, got, ""))
        if x.get("noticed") is False:
            diffs.append(("mcs", op["role"], "the restart noticed (peer restarts + 1)",
                          "not noticed in %.0f s" % (6 * SCALE), ""))
        if want.get("restore_event"):
            kinds = [e.get("kind") for e in x.get("events", [])]
            if "restore" not in kinds:
                diffs.append(("ae-events", "since=%d" % x["last_event"],
                              "the restore among the events after since=",
                              "%d events %s, ids %s" % (
                                  len(kinds), sorted(set(k or "?" for k in kinds)),
                                  [e.get("id") for e in x.get("events", [])][:3]), ""))
        return diffs

    def compare_all(self, model, op, x, want, obs):
        return self.compare_codes(model, op, x, want) + self.compare_flow(model, obs["flow"]) + \
            self.compare_ae(model, obs["ae"])

    # ---- one step: the operation, then every answer
    def check(self, op, x, want):
        deadline = time.monotonic() + (8.0 if op["op"] == "restart" else 4.0) * SCALE
        while True:
            flow = self.observe_flow()
            diffs = self.compare_flow(self.model, flow)
            if not diffs or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        obs = {"flow": flow, "ae": self.observe_ae()}
        self.checks += 1
        return obs, self.compare_codes(self.model, op, x, want) + diffs + self.compare_ae(self.model, obs["ae"])

    def presenting_not_shown(self, i, model, obs):
        """The README's "presenting (mrs shows them)", on the roles' answers."""
        flow = obs["flow"]
        for t in flow["tracks"]:
            if t["state"] != "presenting" or not t.get("participant"):
                continue
            d = flow["displays"].get(t.get("room"))
            if not d or t["participant"] in [a["participant"] for a in d["attendees"]]:
                continue
            m = model.ae.meetings.get(t.get("meeting"))
            if not m:
                cause = "meeting deleted"
            elif m.room != t["room"]:
                cause = "meeting moved"
            elif flow["t0"] >= m.end:
                cause = "meeting ended before the grant's end"
            elif not m.invited(t["participant"]):
                cause = "participant no longer invited" if t["participant"] in model.ae.people \
                    else "participant deleted"
            elif d["meeting"]:
                cause = "another meeting on the screen"
            else:
                cause = "the screen blank (hidden or restarted)"
            key = "presenting-not-shown: " + cause
            if (key, t["participant"]) not in self.noted:
                self.noted.add((key, t["participant"]))
                self.known.append((i, key))

    def after_match(self, model, obs):
        model.settled(obs["flow"]["t1"])
        for t in obs["flow"]["tracks"]:
            tr = model.track_of_person(t.get("participant")) if t.get("participant") else \
                model.track_of(t["ble"])
            if tr and tr.alts and t["state"] in tr.alts:
                tr.state, tr.alts = t["state"], None
        for room in list(model.display_cands):
            d = obs["flow"]["displays"][room]
            v = (d["meeting"], d["title"], d["content"], d.get("end"),
                 frozenset(a["participant"] for a in d["attendees"]), d["hidden"])
            for i, (cand, _, _) in enumerate(model.display_cands[room]):
                if model.view(cand, obs["flow"]["t1"]) == v:
                    model.adopt_display(room, i)
                    break
            else:
                model.display_cands.pop(room)

    def run(self):
        import copy
        self.setup()
        for n, i in enumerate(self.idx):
            if self.drv.deadline and time.monotonic() > self.drv.deadline:
                self.cut = n             # the budget is spent: a prefix ran
                return
            op = self.ops[i]
            t0 = time.monotonic()
            self.fence(op)
            t1 = time.monotonic()
            self.model.commit(ms_now())
            pre = copy.deepcopy(self.model)
            x = self.execute(op)
            want = self.apply(self.model, op, x)
            t2 = time.monotonic()
            obs, diffs = self.check(op, x, want)
            if op["op"] == "arrive":
                self.leave(op, x)
            t3 = time.monotonic()
            for k, v in (("fence", t1 - t0), (op["op"], t2 - t1), ("check", t3 - t2)):
                TIMES[k] = TIMES.get(k, 0) + v
            self.say("%s%s" % (op_text(i, op), "" if not diffs else "  <- %d differ" % len(diffs)))
            if diffs:
                for k in sorted(KNOWN):
                    if k in self.model.flags or k == "presenting-not-shown":
                        continue
                    m2 = copy.deepcopy(pre)
                    m2.flags.add(k)
                    want2 = self.apply(m2, op, x)
                    if not self.compare_all(m2, op, x, want2, obs):
                        self.known.append((i, k))
                        self.say("known: %s (%s)" % (k, KNOWN[k]))
                        self.model = m2
                        diffs = []
                        break
            if diffs:
                self.last_obs = obs
                raise Divergence((i, diffs))
            self.after_match(self.model, obs)
            self.presenting_not_shown(i, self.model, obs)

    def dump(self, out):
        """The model's and the roles' tracks, for a report."""
        print("#   model tracks:", file=out)
        for tr in self.model.tracks:
            print("#     %-4s %-10s %s addrs=%s meeting=%s room=%s visit=%d presented=%s (%s)" % (
                self.local(tr.key()), tr.state, self.local(tr.participant),
                [self.local(a) for a in tr.addrs], self.local(tr.meeting), tr.room, tr.visit,
                self.local(tr.presented), tr.why), file=out)
        print("#   mcs tracks:", file=out)
        for t in getattr(self, "last_obs", {}).get("flow", {}).get("tracks", []):
            print("#     %-4s %-10s ble=%s addrs=%s meeting=%s room=%s visit=%s" % (
                self.local(t.get("participant")), t["state"], self.local(t["ble"]),
                [self.local(a) for a in t.get("addresses", [])], self.local(t.get("meeting")),
                t.get("room"), t.get("visit")), file=out)
        _, tl = self.c.json("GET", self.h("mcs"), "timeline", query=["limit=1000"])
        mine = set(self.devs)
        print("#   mcs timeline (this sequence):", file=out)
        for e in (tl or {}).get("timeline", []):
            if e.get("ble") in mine or (e.get("who") or "").startswith(self.prefix + "-"):
                print("#     %s %-16s %-4s %-4s %s" % (e["time"][11:23], e["event"],
                                                    self.local(e.get("who", "")),
                                                    self.local(e.get("ble", "")),
                                                    e.get("detail", "")), file=out)


class Driver:
    def __init__(self, args):
        self.net, self.dir, self.verbose = args.net, args.dir, args.verbose
        self.coap = Coap()
        self.roles = Roles(args.nano, self.net, self.dir, args.attach, self.coap)
        self.runs = 0
        self.nops = args.ops_per_seq
        self.tags = 0
        self.ops_done = 0
        self.deadline = None

    def tag(self):
        self.tags += 1
        return "%s%d" % (os.urandom(2).hex(), self.tags)

    def attempt(self, seed, ops, idx, verbose=False):
        """Run ops[idx] once: None, or (op index, diffs, known)."""
        run = Run(self, seed, ops, idx, self.tag(), verbose)
        self.runs += 1
        try:
            run.run()
            self.ops_done += len(idx) if run.cut is None else run.cut
            return None, run
        except Divergence as e:
            i, diffs = e.args[0]
            self.ops_done += idx.index(i) + 1
            return (i, diffs), run

    @staticmethod
    def signature(diffs):
        return sorted(set((d[0], str(d[1])) for d in diffs))

    def shrink(self, seed, ops, fail, budget_s):
        """The fewest operations (a prefix, then fewer) that still fail
        the same way; None if it does not fail again."""
        i, diffs = fail
        sig = self.signature(diffs)
        cur = list(range(i + 1))
        deadline = time.monotonic() + budget_s
        saved, self.deadline = self.deadline, None   # a shrinking run is never cut short
        try:
            return self._shrink(seed, ops, sig, cur, deadline)
        finally:
            self.deadline = saved

    def _shrink(self, seed, ops, sig, cur, deadline):

        def fails(idx):
            res, _ = self.attempt(seed, ops, idx)
            return res is not None and res[0] == idx[-1] and \
                set(self.signature(res[1])) & set(sig)

        if not fails(cur):
            return None
        n = 2
        while len(cur) > 1 and time.monotonic() < deadline:
            chunk = max(1, (len(cur) - 1) // n)
            removed = False
            for s in range(0, len(cur) - 1, chunk):
                if time.monotonic() > deadline:
                    break
                cand = cur[:s] + cur[s + chunk:]
                if cand and cand[-1] == cur[-1] and fails(cand):
                    cur, removed = cand, True
                    break
            if not removed:
                if chunk == 1:
                    break
                n *= 2
        return cur


def report_divergence(run, fail, out=sys.stdout):
    i, diffs = fail
    print("# seed %d: at operation %d (%s):" % (run.seed, i, op_text(i, run.ops[i]).strip()),
          file=out)
    for what, key, want, got, why in diffs:
        print("#   %s %s: model %s, roles %s%s" % (what, key, want, got,
                                                    " (model: %s)" % why if why else ""), file=out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--replay", action="store_true")
    ap.add_argument("--ops", help="operation indices of the seed's sequence to run")
    ap.add_argument("--ops-per-seq", type=int, default=20)
    ap.add_argument("--ops-file", help="a JSON list of operations to run instead of a seed's "
                    "(as --replay prints them, one object each)")
    ap.add_argument("--budget", type=float, default=0,
                    help="stop after SECS (between two operations)")
    ap.add_argument("--shrink-budget", type=float, default=90)
    ap.add_argument("--net", default="127.253.%d" % (os.getpid() % 200 + 20))
    ap.add_argument("--dir")
    ap.add_argument("--attach", action="store_true")
    ap.add_argument("--nano", default=os.environ.get("NANO", os.path.join(HERE, "..", "nano")))
    ap.add_argument("--print-roles", action="store_true",
                    help="print NAME ARGV.. of every role (for test/t0495-model.sh)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="every time of the run times this (an emulated or sanitized build)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv[1:])
    set_scale(args.scale)
    args.nano = os.path.abspath(args.nano)
    own_dir = args.dir is None
    if own_dir:
        import tempfile
        args.dir = tempfile.mkdtemp(prefix="nano-model.")
    if args.print_roles:
        cmds = role_commands(args.nano, args.net, args.dir, mrs_options(args.nano))
        for name in ROLE_ORDER:
            print(name, " ".join(cmds[name]))
        return 0
    seeds = [args.seed] if args.seed is not None else \
        [int(s) for s in args.seeds.split(",") if s.strip()]
    def stop(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    start = time.monotonic()
    drv = Driver(args)
    if args.budget:
        drv.deadline = start + args.budget
    status = 0
    known = {}
    sequences = 0
    try:
        for seed in seeds:
            if drv.deadline and time.monotonic() > drv.deadline:
                break
            ops = generate(seed, args.ops_per_seq)
            if args.ops_file:
                with open(args.ops_file) as f:
                    ops = json.load(f)
            idx = list(range(len(ops)))
            if args.ops:
                idx = []
                for part in args.ops.split(","):
                    a, _, b = part.partition("-")
                    idx += list(range(int(a), int(b or a) + 1))
            if args.replay:
                for i in idx:
                    print("#   " + op_text(i, ops[i]))
            res, run = drv.attempt(seed, ops, idx, args.verbose or args.replay)
            sequences += 1
            for i, k in run.known:
                known.setdefault(k, []).append((seed, i))
            if res is None:
                print("# seed %d: %d operations%s, %d checks agree%s" % (
                    seed, len(idx) if run.cut is None else run.cut,
                    "" if run.cut is None else " (of %d: the budget was spent)" % len(idx),
                    run.checks,
                    "" if not run.known else " (known: %s)" % ", ".join(
                        "%s at %d" % (k, i) for i, k in run.known)), flush=True)
                continue
            status = 1
            report_divergence(run, res)
            if args.verbose or args.replay:
                run.dump(sys.stdout)
            if args.replay or args.ops:
                continue
            left = drv.deadline - time.monotonic() if drv.deadline else args.shrink_budget
            small = drv.shrink(seed, ops, res, min(args.shrink_budget, max(30, left)))
            if small is None:
                print("# seed %d: did not fail again on a second run (timing?); the whole "
                      "sequence: test/model.py --seed %d --replay" % (seed, seed))
                continue
            print("# a reproduction, %d of %d operations:" % (len(small), res[0] + 1))
            print("#   test/model.py --seed %d --replay --ops %s" % (
                seed, ",".join(str(i) for i in small)))
            for i in small:
                print("#   " + op_text(i, ops[i]))
    finally:
        if not args.attach:
            drv.roles.stop_all()
        if own_dir and status == 0:
            shutil.rmtree(args.dir, ignore_errors=True)
        elif own_dir:
            print("# logs kept in %s" % args.dir)
    print("# exercised: " + ", ".join("%s %d" % kv for kv in sorted(COVER.items())))
    if args.verbose:
        print("# seconds: " + ", ".join("%s %.1f" % kv for kv in sorted(TIMES.items())))
    if known:
        print("# known divergences (listed in KNOWN with the reason; reported):")
        for k, where in sorted(known.items()):
            seed, i = where[0]
            print("#   %-60s x%d, first: test/model.py --seed %d --replay --ops 0-%d" % (
                k, len(where), seed, i))
    print("# %d sequences (%d runs with shrinking), %d operations, %.0f s; known: %s" % (
        sequences, drv.runs, drv.ops_done, time.monotonic() - start,
        ", ".join("%s x%d" % (k, len(v)) for k, v in sorted(known.items())) or "none"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
