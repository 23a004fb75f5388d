"""Save-to-served latency of `avmd dev` (see run.sh). Measures, in one run on a temp copy of
examples/hello_web:
  - each of N edits: time from writing src/hello_web_api.erl to the first GET that returns the new
    body (polled back to back on one keep-alive connection);
  - one cold `erlc` of that same module (a fresh VM, as a plain build would run it), 3 times, median;
  - the avmd process's RSS and CPU while idle over ~5 s (from /proc), and its erl children's RSS.
Prints p50/p95 and the ratio p50 / cold erlc (goal: p50 <= 150 ms, ratio <= 1.0)."""

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELLO = '{ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


def wait_for(what, fn, limit=120, conn=None):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            v = fn()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError):
            if conn is not None:
                conn.close()  # a failed request leaves http.client's connection unusable
        time.sleep(0.05)
    sys.exit(f"bench: timed out waiting for {what}")


def proc_stat(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main():
    avmd, edits = sys.argv[1], int(sys.argv[2])
    tmp = Path(tempfile.mkdtemp(prefix="avmd-bench-dev-"))
    project = tmp / "hello_web"
    shutil.copytree(ROOT / "examples" / "hello_web", project, ignore=shutil.ignore_patterns("_build"))
    if not (project / "avmd.toml").exists():
        (project / "avmd.toml").write_text('name = "hello_web"\nprofile = "esp32"\n')
    src = project / "src" / "hello_web_api.erl"
    original = src.read_text()
    assert HELLO in original
    port, dash = free_port(), free_port()
    log = open(tmp / "avmd.log", "wb")
    proc = subprocess.Popen([avmd, "dev", str(project), "--port", str(port), "--dashboard-port", str(dash)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        api = http.client.HTTPConnection("127.0.0.1", dash, timeout=10)
        wait_for("the first build", lambda: json.loads(get(api, "/api/status")[1])["phase"] == "ok", conn=api)
        app = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        wait_for("the app", lambda: get(app, "/api/hello?name=x")[0] == 200, conn=app)

        latencies = []
        for i in range(edits):
            marker = f"edit{i}"
            text = original.replace(HELLO, HELLO.replace('<<"hello">>', f'<<"{marker}">>'))
            want = f'"{marker}"'.encode()
            t0 = time.perf_counter()
            src.write_text(text)
            deadline = t0 + 60
            while True:
                try:
                    status, body = get(app, "/api/hello?name=x")
                    if status == 200 and want in body:
                        break
                except (OSError, http.client.HTTPException):
                    app.close()  # the app restarted: reconnect
                if time.perf_counter() > deadline:
                    sys.exit(f"bench: edit {i} never served")
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.2)  # let the build loop settle so edits do not pile up

        cold = []
        out = tmp / "erlc_out"
        out.mkdir()
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(["erlc", "-o", str(out), str(src)], check=True, capture_output=True)
            cold.append((time.perf_counter() - t0) * 1000)
        erlc_ms = statistics.median(cold)

        time.sleep(1.0)
        pid = proc.pid
        t0, c0 = time.monotonic(), proc_stat(pid)
        time.sleep(5.0)
        t1, c1 = time.monotonic(), proc_stat(pid)
        cpu_pct = 100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
        rss = rss_kb(pid)
        kids = children(pid)
        kids_rss = sum(rss_kb(k) for k in kids)

        lat = sorted(latencies)
        p50 = statistics.median(lat)
        p95 = lat[max(0, int(round(0.95 * len(lat))) - 1)]
        print(f"avmd dev save-to-served latency over {edits} edits of src/hello_web_api.erl:")
        print(f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   min {lat[0]:.1f} ms   max {lat[-1]:.1f} ms")
        print(f"  cold erlc of the same module (fresh VM, median of 3): {erlc_ms:.1f} ms")
        print(f"  ratio p50 / cold erlc: {p50 / erlc_ms:.2f}  (goal <= 1.0; p50 goal <= 150 ms)")
        print(f"avmd idle over {t1 - t0:.1f} s: RSS {rss / 1024:.1f} MB (goal <= 40 MB), CPU {cpu_pct:.2f} %")
        print(f"  its {len(kids)} erl children (host runtime + compile VM): RSS {kids_rss / 1024:.1f} MB in all")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
