"""OTA push benchmark (on demand; bench/ota/run.sh runs it).

A 512 KB bundle (examples/hello_web plus an incompressible priv file) goes to 20 simulated devices
(`avmd sim`) with concurrency 4, twice per round, in the same run:
  curl   the baseline: per device a nonce and a signature (made here), then `curl -T` of the same bytes
         to the same endpoint, 4 at a time; timed until every device reports the new SHA-256
  avmd   `avmd push --all --concurrency 4` of the next build; timed the same way (it also confirms)
Prints total seconds, per-device upload throughput, the ratio avmd/curl (goal: within 1.2), and on
AtomVM the devices' peak RSS over their idle RSS while they take an upload.
"""

import concurrent.futures
import hashlib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve()
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ota"))
sys.path.insert(0, str(ROOT / "tests"))
import ota_support  # noqa: E402
from ota_support import get_json, sign  # noqa: E402

DEVICES = int(os.environ.get("DEVICES", "20"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "4"))
SIZE = int(os.environ.get("SIZE", str(512 * 1024)))
ROUNDS = int(os.environ.get("ROUNDS", "2"))


def pad(world, n):
    """Makes the next build about SIZE bytes and different from the last: a random priv file."""
    (world.project / "priv").mkdir(exist_ok=True)
    current = len(world.build())
    pad_file = world.project / "priv" / "pad.bin"
    have = pad_file.stat().st_size if pad_file.exists() else 0
    pad_file.write_bytes(os.urandom(max(0, SIZE - (current - have) - 64)))
    image = world.build()
    return image, hashlib.sha256(image).hexdigest()


def wait_all(sim, sha, seconds=180):
    deadline = time.monotonic() + seconds
    pending = set(range(DEVICES))
    while pending and time.monotonic() < deadline:
        for i in list(pending):
            try:
                if sim.info(i, timeout=2)["sha256"] == sha:
                    pending.discard(i)
            except Exception:
                pass
        time.sleep(0.05)
    assert not pending, f"devices {sorted(pending)} never ran {sha[:12]}"


def curl_one(sim, i, key, path, sha, size):
    a = sim.address(i)
    n = get_json(a, "/_avm/ota/nonce")
    sig = sign(key, n["device"], n["nonce"], sha, size)
    t = time.monotonic()
    r = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", str(path), f"http://{a}/_avm/ota",
         "-H", f"x-avm-sha256: {sha}", "-H", f"x-avm-size: {size}", "-H", f"x-avm-nonce: {n['nonce']}",
         "-H", f"x-avm-signature: {sig}", "-H", "x-avm-offset: 0"],
        capture_output=True, text=True)
    assert r.stdout == "200", (i, r.stdout, r.stderr)
    return time.monotonic() - t


def confirm_all(sim):
    for i in range(DEVICES):
        ota_support.request(sim.address(i), "POST", "/_avm/ota/confirm")


def vm_pids(sim):
    out = subprocess.run(["pgrep", "-f", "-g", str(os.getpgid(sim.proc.pid)), "AtomVM"],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return None


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="avmd-bench-ota."))
    try:
        world = ota_support.World(tmp)
        sim = world.sim(DEVICES)
        key = world.private_key()
        curl_t, avmd_t, curl_dev, avmd_dev, peaks = [], [], [], [], []
        for _ in range(ROUNDS):
            image, sha = pad(world, SIZE)
            path = tmp / "image.avm"
            path.write_bytes(image)
            idle = {p: rss_kb(p) for p in vm_pids(sim)}
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as ex:
                futs = [ex.submit(curl_one, sim, i, key, path, sha, len(image)) for i in range(DEVICES)]
                while not all(f.done() for f in futs):
                    for p, base in idle.items():
                        now = rss_kb(p)
                        if now and base:
                            peaks.append(now - base)
                    time.sleep(0.005)
                per = [f.result() for f in futs]
            wait_all(sim, sha)
            curl_t.append(time.monotonic() - t0)
            curl_dev.append(len(image) / statistics.median(per))
            confirm_all(sim)

            image, sha = pad(world, SIZE)
            t0 = time.monotonic()
            r = world.avmd("push", "--project", str(world.project), "--all", "--concurrency",
                           str(CONCURRENCY), "--no-canary", "--json", "--health", "/_avm/info")
            wait_all(sim, sha)
            avmd_t.append(time.monotonic() - t0)
            outcomes = json.loads(r.stdout)["outcomes"]
            assert all(o["result"] == "updated" for o in outcomes), outcomes
            avmd_dev.append(len(image) / statistics.median([o["upload_ms"] / 1000 for o in outcomes]))
        size = len(image)
        c, a = statistics.median(curl_t), statistics.median(avmd_t)
        print(f"OTA push: {size} byte bundle to {DEVICES} simulated devices on {ota_support.vm_support.VM}, "
              f"concurrency {CONCURRENCY}, {ROUNDS} round(s)")
        print(f"  curl -T (baseline)  {c:6.2f} s total   {statistics.median(curl_dev) / 1e6:6.2f} MB/s per upload")
        print(f"  avmd push           {a:6.2f} s total   {statistics.median(avmd_dev) / 1e6:6.2f} MB/s per upload "
              f"(then reboot, health check, confirm)")
        print(f"  ratio avmd/curl     {a / c:6.2f}   (goal <= 1.2)")
        if peaks:
            print(f"  device RSS during an upload: peak {max(peaks)} KB over idle")
    finally:
        for s in getattr(locals().get("world"), "sims", []):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
