"""Boots examples/hello_web for the HTTP end-to-end tests, on host OTP or (AVMD_VM=atomvm) the real AtomVM.

examples/hello_web/serve_host.sh compiles the runtime, the host shim and the example into a temp
dir and runs `hello_web:start()` with port 0; the bound port is read from its output (a file, so the
server's access log can never fill a pipe and block it). On AtomVM, `avmd run --vm atomvm` builds a
temp copy of the example and boots its bundle (tests/vm_support.py). The server is killed at teardown.
"""

import os
import pathlib
import re
import subprocess
import time

import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import vm_support  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVE = ROOT / "examples" / "hello_web" / "serve_host.sh"


@pytest.fixture(scope="session")
def hello_web(tmp_path_factory):
    """(port, log path) of a running hello_web server on 127.0.0.1."""
    build = tmp_path_factory.mktemp("hello_web_build")
    log = build / "server.log"
    if vm_support.VM == "atomvm":
        project = vm_support.copy_project(ROOT / "examples" / "hello_web", build / "hello_web")
        proc, port = vm_support.run_on_atomvm(project, log)
        try:
            yield port, log
        finally:
            vm_support.stop(proc)
        return
    env = dict(os.environ, HELLO_WEB_BUILD_DIR=str(build))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["bash", str(SERVE), "0"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    try:
        port = None
        for _ in range(600):  # bounded: compiling takes a few seconds; give up after 60 s
            m = re.search(r"hello_web listening on port (\d+)", log.read_text(errors="replace"))
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        assert port, "hello_web did not start:\n" + log.read_text(errors="replace")
        yield port, log
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def port(hello_web):
    return hello_web[0]


@pytest.fixture
def base(port):
    return f"http://127.0.0.1:{port}"
