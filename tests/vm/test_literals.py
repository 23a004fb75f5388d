"""The request path uses no literal on the real AtomVM.

Why it matters: AtomVM decodes each use of a compound literal (a binary, list, tuple or map written in
the code, `<<>>` included) into a fresh heap fragment, and a process holding a fragment collects its
whole heap at the next allocation: 56 literal uses per request made the runtime 3x slower than it is
(docs/benchmarks.md). This counts them: AtomVM runs under gdb with a breakpoint on
`module_load_literal`, a client makes requests on one keep-alive connection, and after a warm-up (the
connection's own start loads a few, once) no request may load any. The handler builds its reply from
its route options, so every literal a request loads is the runtime's.

Runs on AtomVM only (the atomvm stage of tests/run.sh); needs gdb and the debug info scripts/atomvm.sh
builds AtomVM with.
"""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import vm_support  # noqa: E402

HANDLER = r"""
-module(lit_app).
-export([start/0, handle/2, handle_api/4]).
start() ->
    {ok, S} = httpd_server:start(#{port => 0, address => {127, 0, 0, 1},
                                   routes => [{<<"/">>, ?MODULE, <<"hello">>},
                                              {<<"/api/:name">>, ?MODULE, <<"api">>},
                                              {<<"/json/:name">>, httpd_api_handler, #{handler => ?MODULE}}],
                                   middleware => [{httpd_mw_security, #{}}]}),
    io:format("PORT ~p~n", [httpd_server:port(S)]),
    receive never -> ok end.
%% The replies are built from the route's options or the request: no literal of their own.
handle(_Req, Body) -> {reply, 200, [], Body}.
handle_api(_Method, Bindings, _Json, _Req) -> {ok, Bindings}.
"""

# Counts the breakpoint's hits per literal; `dumplits` writes them (count, then the literal's external
# term format in hex) and starts over. SIGUSR1 stops the VM for gdb to run the next command.
GDB_SCRIPT = r"""
import gdb, collections
counts = collections.Counter()
data = {}
class LiteralLoads(gdb.Breakpoint):
    def stop(self):
        frame = gdb.selected_frame()
        mod = frame.read_var("mod")
        index = int(frame.read_var("index"))
        key = (int(mod), index)
        counts[key] += 1
        if key not in data:
            entry = mod["literals_table"][index]
            raw = gdb.selected_inferior().read_memory(int(entry["data"]), int(entry["size"]))
            data[key] = raw.tobytes().hex()
        return False
LiteralLoads("module_load_literal")
class Dump(gdb.Command):
    def __init__(self):
        super().__init__("dumplits", gdb.COMMAND_USER)
    def invoke(self, arg, from_tty):
        with open(arg, "w") as out:
            for key, n in counts.most_common():
                out.write("%d %s\n" % (n, data[key]))
        counts.clear()
Dump()
"""

REQUESTS = {
    "a curl-like GET": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "a browser-like GET with a query": (
        b"GET /api/thing?name=x&y=%20z HTTP/1.1\r\nHost: 192.168.1.50\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        b"Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nSec-Fetch-Mode: navigate\r\n\r\n"),
    # the example's route shape: httpd_api_handler, a JSON reply, the security headers
    "a JSON API GET": b"GET /json/x?name=x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n",
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed (Debian package gdb)")
    where = tmp_path_factory.mktemp("literals")
    (where / "src").mkdir()
    (where / "src" / "lit_app.erl").write_text(HANDLER)
    (where / "avmd.toml").write_text('name = "lit_app"\nstart = "lit_app"\n')
    subprocess.run([str(vm_support.avmd_binary()), "build", str(where)], check=True, capture_output=True)
    return where, where / "_build" / "avmd" / "lit_app.avm"


def roundtrip(sock, request):
    sock.sendall(request)
    data = b""
    while not complete(data):
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection: {data!r}"
        data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data
    assert b"x-content-type-options: nosniff" in data, data


def complete(data):
    """A whole response (head and Content-Length body) has arrived."""
    head, sep, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return bool(sep) and m is not None and len(body) >= int(m.group(1))


def decode(hex_terms):
    """The literals as Erlang prints them (host erl decodes the external term format)."""
    if not hex_terms:
        return []
    args = " ".join(hex_terms)
    out = subprocess.run(
        ["erl", "-noshell", "-eval",
         "[io:format(\"~0p~n\", [binary_to_term(binary:decode_hex(list_to_binary(H)))]) "
         "|| H <- init:get_plain_arguments()], halt().", "-extra", *hex_terms],
        capture_output=True, text=True, timeout=60)
    return out.stdout.splitlines() or [args]


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_request_loads_no_literal(bundle, name, tmp_path):
    where, avm = bundle
    vm = vm_support.atomvm_dir()
    script = tmp_path / "literals.py"
    script.write_text(GDB_SCRIPT)
    warm, counted = tmp_path / "warm.txt", tmp_path / "counted.txt"
    log = tmp_path / "gdb.log"
    with open(log, "w") as out:
        gdb = subprocess.Popen(
            ["gdb", "-q", "-batch", "-ex", "set pagination off", "-ex", "handle SIGUSR1 stop print nopass",
             "-ex", f"source {script}", "-ex", "run", "-ex", f"dumplits {warm}", "-ex", "continue",
             "-ex", f"dumplits {counted}", "-ex", "kill",
             "--args", str(vm / "AtomVM"), str(avm), str(vm / "atomvmlib.avm")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        port = None
        for _ in range(600):
            m = re.search(r"PORT (\d+)", log.read_text())
            if m:
                port = int(m.group(1))
                break
            assert gdb.poll() is None, log.read_text()
            time.sleep(0.1)
        assert port, log.read_text()
        vm_pid = int(subprocess.run(["pgrep", "-n", "-P", str(gdb.pid)], capture_output=True,
                                    text=True).stdout.split()[0])
        request = REQUESTS[name]
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            for _ in range(3):
                roundtrip(sock, request)
            os.kill(vm_pid, signal.SIGUSR1)
            while not warm.exists():
                time.sleep(0.05)
            for _ in range(20):
                roundtrip(sock, request)
            os.kill(vm_pid, signal.SIGUSR1)
            for _ in range(200):
                if counted.exists():
                    break
                time.sleep(0.05)
        # The breakpoint works: booting and the connection's start load literals.
        assert warm.read_text().strip(), "gdb counted no literal load at all: is module_load_literal there?"
        rows = [line.split() for line in counted.read_text().splitlines()]
        loads = sum(int(n) for n, _ in rows)
        assert loads == 0, (
            f"{name}: {loads} literal loads in 20 requests: "
            + "; ".join(f"{n}x {t}" for (n, _), t in zip(rows, decode([h for _, h in rows]))))
    finally:
        os.killpg(gdb.pid, signal.SIGKILL)
        gdb.wait()
