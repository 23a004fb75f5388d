"""Devices on the LAN, end to end inside a network namespace the test creates (tests/devices/netns.py):
`avmd sim --mdns` devices announce `_avmd._tcp` (runtime/src/mdns_responder.erl, on the VM AVMD_VM names),
`avmd devices` finds them by mDNS and merges them into an empty registry, `avmd devices watch` sees the
TXT record change after a push, a stopped device lists offline, and malformed mDNS packets are dropped
while the device keeps answering."""

import json
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "dev"))
import vm_support  # noqa: E402
from dev_support import poll as dev_poll  # noqa: E402
from netns import Netns  # noqa: E402

ROOT = HERE.parents[2]
HELLO = '{ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};'


class Lan:
    """One namespace, a project with a key, devices simulated in one registry (`sims` home) and the
    avmd under test in another (`avmd` home, empty at first)."""

    def __init__(self, tmp):
        self.tmp, self.ns = tmp, Netns()
        self.binary = vm_support.avmd_binary()
        if vm_support.VM == "atomvm":
            vm_support.atomvm_dir()
        self.project = tmp / "hello_web"
        shutil.copytree(ROOT / "examples" / "hello_web", self.project,
                        ignore=shutil.ignore_patterns("_build", "ota.pub"))
        self.keys = tmp / "keys"
        self.run("sims", "key", "new", self.project)
        self.procs = []

    def env(self, home):
        import os
        env = dict(os.environ, AVMD_KEY_DIR=str(self.keys), AVMD_HOME=str(self.tmp / home))
        env.pop("AVMD_NO_MDNS", None)  # tests/conftest.py's guard: this namespace is ours
        return env

    def run(self, home, *args, timeout=300, check=True):
        r = subprocess.run(self.ns.cmd([self.binary, *args]), env=self.env(home), capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"avmd {args} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def start(self, home, *args, log):
        out = open(self.tmp / log, "w")
        p = subprocess.Popen(self.ns.cmd([self.binary, *args]), env=self.env(home), stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def sims(self, count):
        return self.start("sims", "sim", self.project, "--count", count, "--base-port", 9400, "--fresh",
                          "--mdns", "--no-register", "--vm", vm_support.VM, "--trial-ms", 4000,
                          "--dir", self.tmp / "flash", log="sims.log")

    def devices(self, *extra):
        r = self.run("avmd", "devices", "--json", "--project", self.project, *extra)
        return {d["name"]: d for d in json.loads(r.stdout)}

    def stop(self, p):
        if p.poll() is None:
            import os
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def close(self):
        for p in self.procs:
            self.stop(p)
        self.ns.close()


@pytest.fixture
def lan(tmp_path):
    world = Lan(tmp_path)
    try:
        yield world
    finally:
        world.close()


def poll(what, fn):
    # generous: the devices may boot on the real AtomVM
    return dev_poll(what, fn, wait=120, step=0.3)


def current_sha(lan):
    lan.run("avmd", "build", lan.project)
    import hashlib
    return hashlib.sha256((lan.project / "_build" / "avmd" / "hello_web.avm").read_bytes()).hexdigest()


def test_devices_are_found_on_the_lan_and_merged_into_the_registry(lan):
    sha = current_sha(lan)
    lan.sims(2)
    assert lan.devices("--no-mdns") == {}  # the registry under test starts empty

    def both():
        found = lan.devices("--browse-ms", 1500)
        ok = all(n in found and found[n]["online"] and found[n]["announced"] for n in ("sim-0", "sim-1"))
        return found if ok else None

    found = poll("both devices announced and online", both)
    for i, name in enumerate(["sim-0", "sim-1"]):
        d = found[name]
        assert d["address"] == f"127.0.0.1:{9400 + i}", d
        assert d["sha256"] == sha and d["outdated"] is False and d["device_id"] == name, d
    # they stay in the registry: listed without listening on the LAN
    assert set(lan.devices("--no-mdns")) == {"sim-0", "sim-1"}


def test_txt_follows_a_push_and_a_stopped_device_lists_offline(lan):
    sims = lan.sims(1)
    poll("sim-0 found", lambda: lan.devices("--browse-ms", 1500).get("sim-0", {}).get("announced"))
    watch = lan.start("avmd", "devices", "watch", "--json", "--project", lan.project, log="watch.log")
    api = lan.project / "src" / "hello_web_api.erl"
    api.write_text(api.read_text().replace(HELLO, HELLO.replace('<<"hello">>', '<<"pushed">>')))
    new_sha = current_sha(lan)
    pushed = lan.run("avmd", "push", "sim-0", "--project", lan.project, "--json")
    assert json.loads(pushed.stdout)["outcomes"][0]["result"] == "updated", pushed.stdout

    def announced_new():
        for line in (lan.tmp / "watch.log").read_text().splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            if e.get("event") == "up" and e["instance"] == "sim-0" and e["txt"].get("sha256") == new_sha:
                return e
        return None

    e = poll("the new build's announcement", announced_new)
    assert e["txt"]["app"] == "hello_web" and e["txt"]["platform"], e
    lan.stop(watch)

    lan.stop(sims)
    d = lan.devices("--browse-ms", 300)["sim-0"]
    assert d["online"] is False and d["announced"] is False and d["sha256"] == new_sha, d


def test_malformed_mdns_packets_are_dropped_and_the_device_keeps_answering(lan):
    lan.sims(1)
    poll("sim-0 found", lambda: lan.devices("--browse-ms", 1500).get("sim-0", {}).get("announced"))
    r = subprocess.run(lan.ns.cmd([sys.executable, HERE.parent / "mdns_probe.py", "sim-0"]),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr + (lan.tmp / "sims.log").read_text()[-3000:]
    assert json.loads(r.stdout)["answers"] >= 1
    d = lan.devices("--browse-ms", 1500)["sim-0"]
    assert d["online"] and d["announced"], d
    assert "crash" not in (lan.tmp / "sims.log").read_text().lower()


def test_the_dashboard_lists_devices_as_they_announce(lan):
    lan.sims(1)
    dash, app = 9480, 9481
    lan.start("avmd", "dev", lan.project, "--port", app, "--dashboard-port", dash, log="dev.log")

    def listed():
        r = subprocess.run(lan.ns.cmd(["curl", "-s", f"http://127.0.0.1:{dash}/api/devices"]),
                           capture_output=True, text=True, timeout=30)
        try:
            rows = json.loads(r.stdout)["devices"]
        except (json.JSONDecodeError, KeyError):
            return None
        return [d for d in rows if d["device"]["name"] == "sim-0" and d["device"]["online"]]

    rows = poll("sim-0 in the dashboard", listed)
    assert rows[0]["device"]["address"] == "127.0.0.1:9400", rows
