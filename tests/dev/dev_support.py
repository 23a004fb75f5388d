"""Helpers for the `avmd dev` end-to-end tests (a uniquely named module: other test directories have
their own conftest.py). Every wait is a bounded poll that fails with what it last saw; no test asserts
on elapsed time."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hello_web"
# Generous: two cores shared by many builds; a poll returns as soon as the condition holds.
WAIT = float(os.environ.get("AVMD_TEST_WAIT", "60"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, headers=None, timeout=10):
    """(status, headers dict with lowercase names, body bytes); HTTP errors are results, not raises."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(url):
    status, _, body = http_get(url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def poll(what, fn, wait=WAIT, step=0.05):
    """Calls fn until it returns a truthy value (returned) or `wait` seconds pass (fails with the
    last value or exception)."""
    deadline = time.monotonic() + wait
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, urllib.error.URLError, ValueError) as e:  # not up yet / mid-restart
            last = e
        time.sleep(step)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


class Dev:
    """A running `avmd dev`."""

    def __init__(self, binary, project, log_path, args=()):
        self.binary, self.project, self.log_path = binary, project, log_path
        self.args = list(args)
        self.port, self.dash = free_port(), free_port()
        self.proc = None

    @property
    def app(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self):
        return f"http://127.0.0.1:{self.dash}"

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "dev", str(self.project), "--port", str(self.port),
             "--dashboard-port", str(self.dash), *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_phase_ok()
        return self

    def wait_phase_ok(self):
        def ready():
            assert self.proc.poll() is None, "avmd dev exited:\n" + self.output()
            s = get_json(self.api + "/api/status")
            return s if s["phase"] == "ok" and s["current_build"] else None
        return poll("the first good build", ready)

    def wait_body(self, path, want: bytes):
        def served():
            status, _, body = http_get(self.app + path)
            return body if status == 200 and want in body else None
        return poll(f"{path} to serve {want!r}", served)

    def output(self):
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)  # the whole group: avmd and its erl children
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)
        self.log.close()


def rewrite(path: Path, old: str, new: str):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def rewrite_by_rename(path: Path, old: str, new: str):
    """Saves the way many editors do: write a temp file beside it, then rename it over the original."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    tmp = path.with_name(path.name + ".avmd-test.tmp")
    tmp.write_text(text.replace(old, new, 1))
    os.replace(tmp, path)
