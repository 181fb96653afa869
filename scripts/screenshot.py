#!/usr/bin/env python3
"""Full-page PNG screenshot of a local HTML file with headless Chromium.

Chromium's own --screenshot flag captures only the window, so this drives the DevTools protocol
over --remote-debugging-pipe (fd 3: commands in, fd 4: replies out, NUL-terminated JSON), measures
the laid-out page and captures all of it. Standard library only.

usage: screenshot.py PAGE.html OUT.png [--width 1280] [--chromium /usr/bin/chromium]
"""
import argparse
import base64
import fcntl
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, binary, profile):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()

        def wire():
            # Move both ends above the target numbers first (a pipe end may itself be 3 or 4),
            # then onto 3 and 4, then close everything else the child inherited.
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.closerange(5, 65536)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
             "--disable-extensions", "--disable-background-networking", f"--user-data-dir={profile}",
             "about:blank"],
            close_fds=False, preexec_fn=wire,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.out = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.inp = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def _read_message(self):
        while b"\0" not in self.buffer:
            chunk = self.inp.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe (did it start? is the binary right?)")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        self.out.write(json.dumps(request).encode() + b"\0")
        while True:
            message = self._read_message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method, timeout):
        end = time.time() + timeout
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message())
        raise RuntimeError(f"timed out waiting for {method}")

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("page")
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--tiles", type=int, default=0,
                        help="also write OUT-1.png, OUT-2.png, ... of at most this many pixels each (for viewers that shrink tall images)")
    args = parser.parse_args()
    url = pathlib.Path(args.page).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="sira-chromium-") as profile:
        browser = Browser(args.chromium, profile)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            browser.call("Page.enable", session=session)
            browser.call("Emulation.setDeviceMetricsOverride",
                         {"width": args.width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
            browser.call("Page.navigate", {"url": url}, session=session)
            browser.wait_event("Page.loadEventFired", timeout=60)
            size = browser.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
            height = int(size["height"] + 0.999)
            shot = browser.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": args.width, "height": height, "scale": 1}}, session=session)
            tiles = []
            if args.tiles > 0:
                for top in range(0, height, args.tiles):
                    part = browser.call("Page.captureScreenshot", {
                        "format": "png", "captureBeyondViewport": True,
                        "clip": {"x": 0, "y": top, "width": args.width, "height": min(args.tiles, height - top), "scale": 1}},
                        session=session)
                    tiles.append(part["data"])
        finally:
            browser.close()
    data = base64.b64decode(shot["data"])
    write(args.out, data)
    stem = args.out[:-4] if args.out.endswith(".png") else args.out
    for i, tile in enumerate(tiles):
        write(f"{stem}-{i + 1}.png", base64.b64decode(tile))
    print(f"{args.out}: {args.width}x{height} px, {len(data)} bytes" + (f", {len(tiles)} tiles" if tiles else ""))


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"screenshot.py: {e}", file=sys.stderr)
        sys.exit(1)
