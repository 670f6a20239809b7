#!/usr/bin/python3
"""cdp.py - headless Chromium for the tests, driven over the DevTools
protocol on a pipe (--remote-debugging-pipe: no port, no websocket
library), one command a line from a fifo, one answer a line to another.

    cdp.py CHROMIUM PROFILE_DIR IN_FIFO OUT_FIFO

Commands (answers start with "ok" or "error"):
    size W H          the viewport, in CSS pixels at scale 1
    open URL          navigate and wait for the load event (10 s)
    wait MS JS        evaluate JS every 20 ms until it is truthy: "ok MS"
                      with the milliseconds it took, or "error timeout"
    eval JS           "ok " and the value as JSON
    shot FILE         a PNG of the viewport: "ok BYTES"
    dom FILE          the DOM as the page's script left it (outerHTML)
    quit

Debian 12's python3 only; the browser's own output goes to stderr.
"""
import base64
import fcntl
import json
import os
import subprocess
import sys
import time


class Browser:
    def __init__(self, exe, profile):
        # the browser reads commands on its fd 3 and writes on its fd 4
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # out of the way of 3 and 4 first, so that neither dup2 clobbers
        hi_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)

        def fds():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--disable-default-apps", "--disable-dev-shm-usage",
             "--mute-audio", "--hide-scrollbars", "--force-device-scale-factor=1",
             "--window-size=1920,1080", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr,
            close_fds=False, preexec_fn=fds)
        for fd in (to_r, from_w, hi_r, hi_w):
            os.close(fd)
        self.w = os.fdopen(to_w, "wb", buffering=0)
        self.r = os.fdopen(from_r, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")

    def message(self):
        while b"\0" not in self.buf:
            chunk = self.r.read(65536)
            if not chunk:
                raise RuntimeError("the browser went away")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.w.write(json.dumps(msg).encode() + b"\0")
        while True:
            m = self.message()
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def page(self, method, params=None):
        return self.call(method, params, self.session)

    def evaluate(self, js):
        r = self.page("Runtime.evaluate", {"expression": js, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("script: " + r["exceptionDetails"].get("text", "exception"))
        return r["result"].get("value")

    def open(self, url):
        self.events = []
        self.page("Page.navigate", {"url": url})
        end = time.time() + 10
        while time.time() < end:
            if any(e.get("method") == "Page.loadEventFired" for e in self.events):
                return
            self.events.append(self.message())
        raise RuntimeError("no load event in 10 s")

    def quit(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run(b, line):
    cmd, _, rest = line.partition(" ")
    if cmd == "size":
        w, h = (int(x) for x in rest.split())
        b.page("Emulation.setDeviceMetricsOverride",
               {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False})
        return "ok"
    if cmd == "open":
        b.open(rest)
        return "ok"
    if cmd == "wait":
        ms, js = rest.split(" ", 1)
        t0 = time.time()
        end = t0 + int(ms) / 1000
        while True:
            if b.evaluate(js):
                return "ok %d" % ((time.time() - t0) * 1000)
            if time.time() > end:
                return "error timeout"
            time.sleep(0.02)
    if cmd == "eval":
        return "ok " + json.dumps(b.evaluate(rest))
    if cmd == "shot":
        data = base64.b64decode(b.page("Page.captureScreenshot", {"format": "png"})["data"])
        with open(rest, "wb") as f:
            f.write(data)
        return "ok %d" % len(data)
    if cmd == "dom":
        with open(rest, "w") as f:
            f.write(b.evaluate("document.documentElement.outerHTML"))
        return "ok"
    return "error unknown command " + cmd


def main(argv):
    exe, profile, fifo_in, fifo_out = argv[1:5]
    cmds = open(fifo_in)
    out = open(fifo_out, "w")
    try:
        b = Browser(exe, profile)
    except Exception as e:
        print("error %s" % e, file=out, flush=True)
        return 1
    print("ok started", file=out, flush=True)
    for line in cmds:
        line = line.strip()
        if line == "quit":
            break
        try:
            answer = run(b, line)
        except Exception as e:
            answer = "error %s" % e
        print(answer.replace("\n", " "), file=out, flush=True)
    b.quit()
    print("ok quit", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
