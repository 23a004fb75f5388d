"""Simulated devices (`avmd sim`) and a hand-made OTA client for the refusal cases.

Each test gets its own key directory, registry (AVMD_KEY_DIR, AVMD_HOME) and copy of
examples/hello_web with a fresh key, so nothing touches the user's. Devices run on the VM AVMD_VM
names (host OTP by default; the atomvm stage of tests/run.sh runs these again on the real AtomVM).
"""

import hashlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
import vm_support  # noqa: E402

ROOT = HERE.parents[2]
EXAMPLE = ROOT / "examples" / "hello_web"
HELLO = '{ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};'


def free_base(count):
    """A base port with `count` free ports after it on 127.0.0.1."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count >= 65000:
            continue
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise AssertionError("no free port range")


class World:
    """One test's avmd: binary, environment, project with a key."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.binary = vm_support.avmd_binary()
        if vm_support.VM == "atomvm":
            vm_support.atomvm_dir()
        self.env = dict(os.environ, AVMD_KEY_DIR=str(tmp / "keys"), AVMD_HOME=str(tmp / "home"))
        self.project = tmp / "hello_web"
        shutil.copytree(EXAMPLE, self.project, ignore=shutil.ignore_patterns("_build", "ota.pub"))
        self.avmd("key", "new", str(self.project))
        self.sims = []

    def avmd(self, *args, check=True, timeout=300):
        r = subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout, cwd=self.project)
        if check and r.returncode != 0:
            raise AssertionError(f"avmd {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def push_json(self, *args):
        r = self.avmd("push", "--project", str(self.project), "--json", *args, check=False)
        self.last_push_stderr = r.stderr
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"avmd push printed no JSON (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")

    def push_progress(self):
        """The progress lines the last `push --json` wrote on stderr (what the VS Code extension reads)."""
        lines = []
        for line in self.last_push_stderr.splitlines():
            try:
                v = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(v, dict) and v.get("event") == "progress":
                lines.append(v)
        return lines

    def private_key(self):
        key_id = [l for l in (self.project / "ota.pub").read_text().splitlines() if not l.startswith("#")]
        pub = bytes.fromhex(key_id[0])
        kid = hashlib.sha256(pub).hexdigest()[:16]
        pem = (self.tmp / "keys" / f"{kid}.pem").read_bytes()
        return serialization.load_pem_private_key(pem, None)

    def build(self):
        self.avmd("build", str(self.project))
        return (self.project / "_build" / "avmd" / "hello_web.avm").read_bytes()

    def sim(self, count, name="sim"):
        s = Sim(self, count, name).start()
        self.sims.append(s)
        return s

    def close(self):
        for s in self.sims:
            s.stop()


class Sim:
    def __init__(self, world, count, name):
        self.world, self.count, self.name = world, count, name
        self.base = free_base(count)
        self.log = world.tmp / f"sim-{name}.log"

    def start(self):
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [str(self.world.binary), "sim", str(self.world.project), "--count", str(self.count),
                 "--base-port", str(self.base), "--fresh", "--vm", vm_support.VM, "--trial-ms", "4000",
                 "--name", self.name, "--dir", str(self.world.tmp / f"flash-{self.name}")],
                env=self.world.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        for i in range(self.count):
            self.wait_info(i)
        return self

    def address(self, i):
        return f"127.0.0.1:{self.base + i}"

    def info(self, i, timeout=3):
        return get_json(self.address(i), "/_avm/info", timeout)

    def wait_info(self, i, pred=lambda info: True, seconds=120):
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.info(i)
                if pred(last):
                    return last
            except (OSError, http.client.HTTPException, json.JSONDecodeError) as e:
                last = e
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name}-{i}: {last!r}\n" + self.log.read_text(errors="replace")[-4000:])

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def request(address, method, path, body=None, headers=None, timeout=10):
    host, port = address.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def get_json(address, path, timeout=10):
    status, body = request(address, "GET", path, timeout=timeout)
    assert status == 200, (status, body)
    return json.loads(body)


def sign(key, device, nonce, sha, size):
    msg = f"avmd-ota-v1\ndevice={device}\nnonce={nonce}\nsha256={sha}\nsize={size}\n".encode()
    return key.sign(msg, ec.ECDSA(hashes.SHA256())).hex()


def upload_headers(address, key, image, sha=None, size=None, device=None, offset=0, sign_as=None):
    """A nonce from the device, then the headers of a signed upload of `image` (claims overridable)."""
    n = get_json(address, "/_avm/ota/nonce")
    sha = sha or hashlib.sha256(image).hexdigest()
    size = len(image) if size is None else size
    headers = {"x-avm-sha256": sha, "x-avm-size": str(size), "x-avm-nonce": n["nonce"],
               "x-avm-offset": str(offset),
               "x-avm-signature": sign(key, sign_as or n["device"], n["nonce"], sha, size)}
    if device:
        headers["x-avm-device"] = device
    return headers


def raw_cut(address, headers, image, upto):
    """Sends the head and the first `upto` bytes of the body, then drops the connection."""
    host, port = address.split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    head = "PUT /_avm/ota HTTP/1.1\r\nhost: d\r\ncontent-length: %d\r\n" % len(image)
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    s.sendall(head.encode() + image[:upto])
    # A half close, then read until the device closes: it has then read every byte sent and answered
    # the cut (a slow device, AtomVM under load, may still be writing buffered bytes 0.3 s later).
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
