"""`avmd dev --vm atomvm`: the edit–save–see loop with the real AtomVM serving each good bundle.

Always runs on AtomVM (tests/run.sh runs this directory in its atomvm stage); the same loop on host OTP
is tests/dev. Real binary, real VM, real sockets on 127.0.0.1, a temp copy of examples/hello_web.
"""

import json
import os
import pathlib
import shutil
import signal
import sys

import pytest

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "dev"))
import vm_support  # noqa: E402
from dev_support import EXAMPLE, Dev, get_json, http_get, poll, rewrite  # noqa: E402

HELLO = '{ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};'


@pytest.fixture
def project(tmp_path):
    dest = tmp_path / "hello_web"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("_build"))
    return dest


@pytest.fixture
def dev(project, tmp_path):
    vm_support.atomvm_dir()  # built before the daemon needs it
    d = Dev(vm_support.avmd_binary(), project, tmp_path / "dev.log", ["--vm", "atomvm"]).start()
    yield d
    d.stop()


def api_src(project):
    return project / "src" / "hello_web_api.erl"


def atomvm_children(pid):
    """The AtomVM processes among pid's children (the VM serving the app)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = f.read().split()
        except FileNotFoundError:
            continue  # a thread that ended since the listing
        for kid in kids:
            try:
                with open(f"/proc/{kid}/cmdline", "rb") as c:
                    if b"AtomVM" in c.read().split(b"\0")[0]:
                        found.append(int(kid))
            except FileNotFoundError:
                pass
    return found


def test_each_save_is_served_by_a_new_vm_and_the_page_reloads(dev):
    status, _, body = http_get(dev.app + "/api/hello?name=x")
    assert (status, json.loads(body)) == (200, {"hello": "x"})
    assert "on the real AtomVM" in dev.output()
    first = atomvm_children(dev.proc.pid)
    assert len(first) == 1, first

    # Live reload on AtomVM: its zlib cannot inflate, so the page comes as identity with the script,
    # even to a client that asks for gzip.
    tag = b'<script src="http://127.0.0.1:%d/livereload.js"' % dev.dash
    status, headers, body = http_get(dev.app + "/", {"Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in headers and tag in body
    assert body.rindex(tag) < body.lower().rindex(b"</body>")

    rewrite(api_src(dev.project), HELLO, HELLO.replace('<<"hello">>', '<<"saved">>'))
    dev.wait_body("/api/hello?name=x", b'{"saved":"x"}')
    poll("the build recorded as ok", lambda: get_json(dev.api + "/api/diagnostics")["result"] == "ok")
    second = atomvm_children(dev.proc.pid)
    assert len(second) == 1 and second != first, (first, second)


def test_the_projects_profile_reaches_the_vm(project, tmp_path):
    # The app asks for esp32 itself (4 KiB of headers); the project's profile must win, through
    # AVMD_HTTPD_PROFILE, as through httpd_overrides on host: generic_unix → the host profile (64 KiB).
    toml = project / "avmd.toml"
    toml.write_text(toml.read_text().replace('profile = "esp32"', 'profile = "generic_unix"'))
    d = Dev(vm_support.avmd_binary(), project, tmp_path / "p.log", ["--vm", "atomvm"]).start()
    try:
        status, _, body = http_get(d.app + "/api/hello?name=p", {"X-Big": "a" * 9000})
        assert (status, json.loads(body)) == (200, {"hello": "p"})
    finally:
        d.stop()
    # and the app's own esp32 answers 431 to the same head when nothing overrides it
    proc, port = vm_support.run_on_atomvm(project, tmp_path / "run.log")
    try:
        status, _, _ = http_get(f"http://127.0.0.1:{port}/api/hello", {"X-Big": "a" * 9000})
        assert status == 431
    finally:
        vm_support.stop(proc)


def test_an_app_that_crashes_at_start_keeps_the_last_good_one_serving(dev):
    start = dev.project / "src" / "hello_web.erl"
    text = start.read_text()
    assert "\nstart() ->" in text
    start.write_text(text.replace("\nstart() ->", "\nstart() ->\n    erlang:error(planted_crash),", 1))

    def failed():
        d = get_json(dev.api + "/api/diagnostics")
        return d if d["result"] == "failed" else None
    d = poll("the failed start reported", failed)
    assert any(x["source"] == "atomvm" and "did not start" in x["message"] for x in d["diagnostics"]), d
    status, _, body = http_get(dev.app + "/api/hello?name=x")
    assert (status, json.loads(body)) == (200, {"hello": "x"}), "the last good bundle serves again"
    assert "planted_crash" in dev.output()


def test_the_vm_ends_with_the_daemon_even_on_kill_9(dev):
    vms = atomvm_children(dev.proc.pid)
    assert vms
    os.kill(dev.proc.pid, signal.SIGKILL)
    dev.proc.wait(timeout=20)
    poll("the AtomVM child gone with its parent",
         lambda: not [p for p in vms if os.path.exists(f"/proc/{p}") and
                      open(f"/proc/{p}/stat").read().split(") ")[1][0] != "Z"], wait=20)
