"""Boots examples/hello_web on host OTP for the HTTP end-to-end tests.

examples/hello_web/serve_host.sh compiles the runtime, the host shim and the example into a temp
dir and runs `hello_web:start()` with port 0; the bound port is read from its output (a file, so the
server's access log can never fill a pipe and block it). The server is killed at teardown.
"""

import os
import pathlib
import re
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVE = ROOT / "examples" / "hello_web" / "serve_host.sh"


@pytest.fixture(scope="session")
def hello_web(tmp_path_factory):
    """(port, log path) of a running hello_web server on 127.0.0.1."""
    build = tmp_path_factory.mktemp("hello_web_build")
    log = build / "server.log"
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
