"""Latency and memory of `avmd lsp` (see run.sh) on a generated project of 50 modules and 200 routes,
over stdio with a minimal JSON-RPC client (no library in the timed path). In one run it measures:
  - didChange → the live diagnostic of a typed `lists:sum/1` (N edits, each a new call so every
    diagnostic is new), and → a syntax error;
  - didSave → the build's diagnostics for the saved file (compiler + AtomVM check);
  - hover on a call, completion after `lists:`, `avmd/routes`;
  - the baseline: the same client's round trip of a request the server refuses at once (an unknown
    method), i.e. the transport floor every figure above includes;
  - the server's and its compile VM's RSS once the project is indexed and built.
Prints p50/p95 per figure, its ratio to the baseline, and the goal (docs/benchmarks.md)."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MODULES, ROUTES = 50, 200
GOALS = {"didChange → live diagnostic": 30, "didChange → syntax error": 30, "didSave → build diagnostics": 100,
         "hover": 10, "completion": 10, "avmd/routes": 20}


def generate(root: Path):
    (root / "src").mkdir(parents=True)
    (root / "avmd.toml").write_text('name = "big"\nstart = "big"\nprofile = "esp32"\npartition_size = 1048576\n')
    handlers = [f"big_h{i:02}" for i in range(MODULES - 1)]
    routes = ",\n".join(
        f'        {{<<"/r{i}/:id">>, {handlers[i % len(handlers)]}, #{{methods => [<<"GET">>]}}}}' for i in range(ROUTES)
    )
    (root / "src" / "big.erl").write_text(
        "-module(big).\n-export([start/0, routes/0]).\n\nstart() ->\n"
        "    {ok, _} = httpd_server:start(#{port => 8080, profile => esp32, routes => routes()}),\n"
        "    receive after infinity -> ok end.\n\nroutes() ->\n    [\n" + routes + "\n    ].\n"
    )
    for h in handlers:
        helpers = "\n".join(
            f"helper{j}(X) ->\n    Y = lists:map(fun(E) -> E + {j} end, X),\n    lists:reverse(Y)." for j in range(8)
        )
        (root / "src" / f"{h}.erl").write_text(
            f"-module({h}).\n-behaviour(httpd_handler).\n-export([handle/2]).\n\n"
            "handle(Req, _Opts) ->\n    Id = httpd_handler:binding(<<\"id\">>, Req),\n"
            "    {reply, 200, [{<<\"content-type\">>, <<\"text/plain\">>}], [<<\"id \">>, Id]}.\n\n" + helpers + "\n"
        )


class Client:
    def __init__(self, cmd, cwd):
        self.p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0
        self.lock = threading.Condition()
        self.inbox = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            length = None
            while True:
                line = self.p.stdout.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            msg = json.loads(self.p.stdout.read(length))
            if msg.get("method") == "window/showDocument" or msg.get("method") == "workspace/configuration":
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            with self.lock:
                self.inbox.append((time.perf_counter(), msg))
                self.lock.notify_all()

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        i = self.next_id
        t0 = time.perf_counter()
        self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        _, msg = self.wait(lambda m: m.get("id") == i and "method" not in m)
        return (time.perf_counter() - t0) * 1000, msg

    def wait(self, pred, after=0, timeout=120):
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                for k in range(after, len(self.inbox)):
                    at, m = self.inbox[k]
                    if pred(m):
                        return at, m
                left = end - time.monotonic()
                if left <= 0:
                    sys.exit("bench: timed out")
                self.lock.wait(left)

    def mark(self):
        with self.lock:
            return len(self.inbox)


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    binary, n = sys.argv[1], int(sys.argv[2])
    tmp = Path(tempfile.mkdtemp(prefix="avmd-bench-lsp-"))
    root = tmp / "big"
    try:
        generate(root)
        c = Client([binary, "lsp"], root)
        uri = root.as_uri()
        c.request("initialize", {"processId": None, "rootUri": uri, "capabilities": {},
                                 "workspaceFolders": [{"uri": uri, "name": "big"}]})
        mark = c.mark()
        c.notify("initialized", {})
        t_index0 = time.perf_counter()
        c.wait(lambda m: m.get("method") == "avmd/buildStatus" and m["params"]["state"] != "building", mark, timeout=300)
        first_build = (time.perf_counter() - t_index0) * 1000

        f = root / "src" / "big_h07.erl"
        furi = f.as_uri()
        base = f.read_text()
        c.notify("textDocument/didOpen", {"textDocument": {"uri": furi, "languageId": "erlang", "version": 1, "text": base}})
        results = {k: [] for k in GOALS}
        results["baseline: refused request"] = []
        version = 1
        anchor = "    Id = httpd_handler:binding"

        def diag_for(pred, after):
            return c.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                          and m["params"]["uri"] == furi and pred(m["params"]["diagnostics"]), after)

        for i in range(n):
            # the baseline: a request the server answers with MethodNotFound at once
            ms, _ = c.request("avmd/noSuchMethod", {})
            results["baseline: refused request"].append(ms)
            # a typed unsupported call, each time on a new line so its diagnostic is new
            version += 1
            typed = base.replace(anchor, f"    _ = lists:sum([{i}]),\n" + anchor, 1)
            mark = c.mark()
            t0 = time.perf_counter()
            c.notify("textDocument/didChange", {"textDocument": {"uri": furi, "version": version},
                                                "contentChanges": [{"text": typed}]})
            at, _ = diag_for(lambda ds: any(f"lists:sum/1" in d["message"] for d in ds), mark)
            results["didChange → live diagnostic"].append((at - t0) * 1000)
            line = typed.split("\n").index(f"    _ = lists:sum([{i}]),")
            ms, _ = c.request("textDocument/hover", {"textDocument": {"uri": furi}, "position": {"line": line, "character": 12}})
            results["hover"].append(ms)
            comp = typed.replace(f"lists:sum([{i}])", "lists:", 1)
            version += 1
            c.notify("textDocument/didChange", {"textDocument": {"uri": furi, "version": version}, "contentChanges": [{"text": comp}]})
            ms, _ = c.request("textDocument/completion", {"textDocument": {"uri": furi}, "position": {"line": line, "character": 14}})
            results["completion"].append(ms)
            # a syntax error
            version += 1
            broken = base.replace(anchor, f"    _ = ({i},\n" + anchor, 1)
            mark = c.mark()
            t0 = time.perf_counter()
            c.notify("textDocument/didChange", {"textDocument": {"uri": furi, "version": version}, "contentChanges": [{"text": broken}]})
            at, _ = diag_for(lambda ds: any(d.get("source") == "syntax" for d in ds), mark)
            results["didChange → syntax error"].append((at - t0) * 1000)
            # saved: the build's diagnostics (a compiler warning that names this edit)
            version += 1
            saved = base.replace(anchor, f"    Unused{i} = {i},\n" + anchor, 1)
            f.write_text(saved)
            c.notify("textDocument/didChange", {"textDocument": {"uri": furi, "version": version}, "contentChanges": [{"text": saved}]})
            mark = c.mark()
            t0 = time.perf_counter()
            c.notify("textDocument/didSave", {"textDocument": {"uri": furi}})
            at, _ = diag_for(lambda ds: any(f"Unused{i}" in d["message"] for d in ds), mark)
            results["didSave → build diagnostics"].append((at - t0) * 1000)
            ms, msg = c.request("avmd/routes", {})
            assert len(msg["result"]) == ROUTES, len(msg["result"])
            results["avmd/routes"].append(ms)

        server_kb = rss_kb(c.p.pid)
        vm_kb = sum(rss_kb(k) for k in children(c.p.pid))
        c.request("shutdown", None)
        c.notify("exit", None)
        c.p.wait(timeout=10)

        base_p50 = statistics.median(results["baseline: refused request"])
        print(f"avmd lsp on a generated project: {MODULES} modules, {ROUTES} routes, {n} rounds; first build {first_build:.0f} ms")
        print(f"{'figure':32} {'p50 ms':>8} {'p95 ms':>8} {'× baseline':>11} {'goal p50':>9}")
        for k, xs in results.items():
            goal = f"≤ {GOALS[k]}" if k in GOALS else ""
            p50 = statistics.median(xs)
            print(f"{k:32} {p50:8.2f} {pct(xs, 95):8.2f} {p50 / base_p50:11.1f} {goal:>9}")
        print(f"RSS after indexing and {n} builds: server {server_kb / 1024:.1f} MB, compile VM {vm_kb / 1024:.1f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
