#!/usr/bin/env python3
"""Headless-Chromium check of the live web UI: a running run's page shows a new metric without a reload.

Copies WORKSPACE/data/runs.sqlite (the sqlite3 backup API, safe while a scheduler writes) into a
scratch workspace, marks its newest run `running`, starts `sira-pipeline ui` on it, opens the run
page in headless Chromium, then appends a train.loss point with an independent writer (Python's
sqlite3) and waits until the page's point count grows. A marker set on `window` before the write
must survive (no reload). Prints the delay and writes a screenshot.

usage: ui-live-check.py [--workspace DIR] [--png OUT.png] [--binary PATH] [--chromium chromium]
"""
import argparse
import base64
import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from screenshot import Browser, write  # noqa: E402  (the DevTools-pipe driver the report uses)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def evaluate(browser, session, expression):
    r = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
    return r.get("result", {}).get("value")


def main():
    repo = pathlib.Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser()
    p.add_argument("--workspace", default=".")
    p.add_argument("--png", default=str(repo / "docs/ui-run-page.png"))
    p.add_argument("--binary", default=os.environ.get("SIRA_PIPELINE", str(repo / ".build/debug/sira-pipeline")))
    p.add_argument("--chromium", default="chromium")
    a = p.parse_args()
    source = pathlib.Path(a.workspace) / "data/runs.sqlite"
    if not source.exists():
        sys.exit(f"ui-live-check.py: {source}: no run database (run a pipeline first)")
    with tempfile.TemporaryDirectory(prefix="sira-ui-live-") as scratch:
        db_path = pathlib.Path(scratch) / "data/runs.sqlite"
        db_path.parent.mkdir(parents=True)
        with sqlite3.connect(source) as src, sqlite3.connect(db_path) as dst:
            src.backup(dst)
        db = sqlite3.connect(db_path)
        db.execute("PRAGMA journal_mode=WAL")
        run_id, = db.execute("SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT 1").fetchone()
        db.execute("UPDATE runs SET status='running', finished_at=NULL, heartbeat=? WHERE id=?", (time.time(), run_id))
        db.commit()
        port = free_port()
        server = subprocess.Popen([a.binary, "ui", "--port", str(port), "--workspace", scratch], stdout=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/api/runs?limit=1", timeout=2)
                    break
                except OSError:
                    time.sleep(0.1)
            with tempfile.TemporaryDirectory(prefix="sira-chromium-") as profile:
                browser = Browser(a.chromium, profile)
                try:
                    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
                    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                    browser.call("Page.enable", session=session)
                    browser.call("Emulation.setDeviceMetricsOverride",
                                 {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
                    browser.call("Page.navigate", {"url": f"{base}/runs/{run_id}"}, session=session)
                    browser.wait_event("Page.loadEventFired", timeout=60)
                    before = int(evaluate(browser, session, "document.body.dataset.metricCount") or 0)
                    evaluate(browser, session, "window.__siraNoReload = 42")
                    row = db.execute("SELECT task, variant, max(step) FROM metrics WHERE run_id=? AND key='train.loss'", (run_id,)).fetchone()
                    task, variant, step = row if row and row[2] is not None else (None, None, 0)
                    db.execute("INSERT INTO metrics (run_id, task, variant, key, value, step, time) VALUES (?,?,?,?,?,?,?)",
                               (run_id, task, variant, "train.loss", 0.05, step + 1, time.time()))
                    db.commit()
                    written = time.time()
                    after = before
                    while time.time() - written < 10:
                        after = int(evaluate(browser, session, "document.body.dataset.metricCount") or 0)
                        if after > before:
                            break
                        time.sleep(0.05)
                    delay = time.time() - written
                    kept = evaluate(browser, session, "window.__siraNoReload")
                    size = browser.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                    height = int(size["height"] + 0.999)
                    shot = browser.call("Page.captureScreenshot", {
                        "format": "png", "captureBeyondViewport": True,
                        "clip": {"x": 0, "y": 0, "width": 1280, "height": min(height, 2400), "scale": 1}}, session=session)
                finally:
                    browser.close()
            write(a.png, base64.b64decode(shot["data"]))
            ok = after > before and kept == 42 and delay < 2
            print(f"run {run_id}: points {before} -> {after} after {delay:.2f} s without reload={kept == 42}; screenshot {a.png}")
            return 0 if ok else 1
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"ui-live-check.py: {e}", file=sys.stderr)
        sys.exit(1)
