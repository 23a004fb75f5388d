"""OTA end to end: `avmd push` and hand-made uploads against simulated devices (`avmd sim`) on
127.0.0.1, on host OTP or (AVMD_VM=atomvm) the real AtomVM, whose generic_unix build has no
crypto:verify/5 and checks signatures with the runtime's Erlang P-256 (ecdsa_p256).
"""

import hashlib
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from ota_support import HELLO, World, get_json, raw_cut, request, upload_headers  # noqa: E402

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


def api(world):
    return world.project / "src" / "hello_web_api.erl"


def new_version(world, tag):
    """Changes the app's /api/hello reply to carry `tag` and builds it: (bundle bytes, sha)."""
    src = api(world)
    text = src.read_text()
    if HELLO in text:
        text = text.replace(HELLO, HELLO.replace('<<"hello">>', f'<<"{tag}">>'))
    else:
        import re
        text = re.sub(r'#\{<<"\w+">> => httpd_handler:query', f'#{{<<"{tag}">> => httpd_handler:query', text)
    src.write_text(text)
    image = world.build()
    return image, hashlib.sha256(image).hexdigest()


def hello(sim, i):
    status, body = request(sim.address(i), "GET", "/api/hello?name=x")
    assert status == 200, (status, body)
    return json.loads(body)


def test_push_updates_the_device_and_it_confirms(world):
    sim = world.sim(1)
    before = sim.info(0)
    assert before["partition"] == "main.avm" and before["target"] == "app2.avm"
    assert before["key_id"] and before["device"] == "sim-0" and before["app"] == "hello_web"
    _, sha = new_version(world, "v2")
    code, out = world.push_json("sim-0")
    o = out["outcomes"][0]
    assert code == 0 and o["result"] == "updated", out
    assert o["running_sha256"] == sha == out["sha256"]
    assert hello(sim, 0) == {"v2": "x"}
    # the progress lines of --json: rising byte counts up to the whole image
    progress = world.push_progress()
    assert progress and all(p["device"] == "sim-0" and p["total"] == out["size"] for p in progress), progress
    sent = [p["sent"] for p in progress]
    assert sent == sorted(sent) and sent[-1] == out["size"], sent
    info = sim.info(0)
    assert info["partition"] == "app2.avm" and info["sha256"] == sha and info["trial"] is False
    assert info["last_update"] == {"result": "confirmed", "sha256": sha}
    # a second push finds it current and sends nothing
    code, out = world.push_json("sim-0")
    assert (code, out["outcomes"][0]["result"], out["outcomes"][0]["bytes_sent"]) == (0, "up_to_date", 0)
    history = json.loads(world.avmd("history", "--json").stdout)
    assert [h["result"] for h in history] == ["up_to_date", "updated"]
    devices = json.loads(world.avmd("devices", "--json", "--no-mdns", "--project", str(world.project)).stdout)
    assert devices[0]["online"] and devices[0]["sha256"] == sha and devices[0]["outdated"] is False


def refused(sim, status, body, code, words):
    assert status == code, (status, body)
    assert words in json.loads(body)["error"], body
    # the running app stays and answers, and nothing switched
    info = sim.info(0)
    assert info["partition"] == "main.avm" and info["trial"] is False
    assert "hello" in hello(sim, 0)


def test_refused_uploads_leave_the_running_app(world):
    sim = world.sim(2)
    a = sim.address(0)
    key = world.private_key()
    image, sha = new_version(world, "never")

    wrong = ec.generate_private_key(ec.SECP256R1())
    status, body = request(a, "PUT", "/_avm/ota", image, upload_headers(a, wrong, image))
    refused(sim, status, body, 403, "signature does not verify")

    h = upload_headers(a, key, image)
    del h["x-avm-signature"]
    status, body = request(a, "PUT", "/_avm/ota", image, h)
    refused(sim, status, body, 400, "unsigned")

    # signed for sim-1, sent to sim-0: with the device named, and without
    status, body = request(a, "PUT", "/_avm/ota", image, upload_headers(a, key, image, device="sim-1"))
    refused(sim, status, body, 403, "for device sim-1")
    status, body = request(a, "PUT", "/_avm/ota", image, upload_headers(a, key, image, sign_as="sim-1"))
    refused(sim, status, body, 403, "signature does not verify")

    # the signed hash is of the real image; one byte differs on the wire
    corrupt = bytearray(image)
    corrupt[len(corrupt) // 2] ^= 0xFF
    status, body = request(a, "PUT", "/_avm/ota", bytes(corrupt), upload_headers(a, key, image))
    refused(sim, status, body, 422, "nothing was switched")

    junk = b"\x7fELF" + bytes(4000)
    status, body = request(a, "PUT", "/_avm/ota", junk, upload_headers(a, key, junk))
    refused(sim, status, body, 422, "not an AtomVM bundle")

    # an image bigger than the free partition: refused on its claims, before any byte is read (the
    # offset makes the body the claimed remainder, so the size check is what answers)
    size = 3 * 1024 * 1024
    h = upload_headers(a, key, image, size=size, offset=size - len(image))
    status, body = request(a, "PUT", "/_avm/ota", image, h)
    refused(sim, status, body, 413, "exceeds partition app2.avm")

    h = upload_headers(a, key, image)
    status, body = request(a, "PUT", "/_avm/ota", image[:-10], h)
    refused(sim, status, body, 400, "x-avm-size")

    # a captured good upload, replayed: its nonce was used
    h = upload_headers(a, key, image)
    status, body = request(a, "PUT", "/_avm/ota", image, h)
    assert status == 200, body
    sim.wait_info(0, lambda i: i["sha256"] == sha)
    status, body = request(a, "PUT", "/_avm/ota", image, h)
    assert status == 403 and b"nonce" in body, (status, body)
    status, body = request(sim.address(1), "PUT", "/_avm/ota", image, h)
    assert status == 403, (status, body)


@pytest.mark.parametrize("percent", [10, 50, 90])
def test_a_cut_upload_keeps_the_old_app_and_the_retry_resumes(world, percent):
    sim = world.sim(1)
    a = sim.address(0)
    image, sha = new_version(world, f"cut{percent}")
    cut = len(image) * percent // 100
    raw_cut(a, upload_headers(a, world.private_key(), image), image, cut)
    # the old app answers, and the device has part of the image for a resume
    assert "hello" in hello(sim, 0)
    upload = sim.wait_info(0, lambda i: True) and get_json(a, "/_avm/ota/nonce")["upload"]
    assert upload["sha256"] == sha and 0 < upload["written"] <= cut, upload
    code, out = world.push_json("sim-0")
    o = out["outcomes"][0]
    assert code == 0 and o["result"] == "updated", out
    assert o["resumed_from"] == upload["written"], o
    assert o["bytes_sent"] == len(image) - upload["written"]
    assert hello(sim, 0) == {f"cut{percent}": "x"}


def test_push_cut_by_avmd_itself_resumes(world):
    sim = world.sim(1)
    image, sha = new_version(world, "selfcut")
    code, out = world.push_json("sim-0", "--cut-after", str(len(image) // 2))
    o = out["outcomes"][0]
    assert code == 0 and o["result"] == "updated" and o["attempts"] == 2, out
    assert 0 < o["resumed_from"] <= len(image) // 2
    assert sim.info(0)["sha256"] == sha


def test_a_new_app_that_fails_its_health_check_is_rolled_back(world):
    sim = world.sim(1)
    _, old = new_version(world, "good")
    assert world.push_json("sim-0")[1]["outcomes"][0]["result"] == "updated"
    # the next version's health route answers 500
    main = world.project / "src" / "hello_web.erl"
    main.write_text(main.read_text().replace(
        "{<<\"/stream\">>", "{<<\"/health\">>, hello_web_api_broken, #{}},\n        {<<\"/stream\">>"))
    (world.project / "src" / "hello_web_api_broken.erl").write_text(
        "-module(hello_web_api_broken).\n-export([handle/2]).\n"
        "handle(_Req, _Opts) -> {reply, 500, [], <<\"broken\">>}.\n")
    _, bad = new_version(world, "bad")
    code, out = world.push_json("sim-0", "--health", "/health")
    o = out["outcomes"][0]
    assert code == 1 and o["result"] == "rolled_back", out
    info = sim.wait_info(0, lambda i: i["sha256"] == old and not i["trial"])
    assert info["last_update"] == {"result": "rolled_back", "sha256": bad}
    assert hello(sim, 0) == {"good": "x"}
    assert "not confirmed" in sim.output()


def test_a_fleet_of_20_with_one_unreachable_device(world):
    sim = world.sim(20)
    world.avmd("devices", "add", "zz-broken", "127.0.0.1:1")
    image, sha = new_version(world, "fleet")
    code, out = world.push_json("--all", "--concurrency", "4")
    results = {o["device"]: o["result"] for o in out["outcomes"]}
    assert code == 1
    assert results.pop("zz-broken") == "unreachable"
    assert results == {f"sim-{i}": "updated" for i in range(20)}, results
    assert all(sim.info(i)["sha256"] == sha for i in range(20))
    # --outdated now finds nobody that answers and runs something else
    r = world.avmd("push", "--project", str(world.project), "--outdated")
    assert "every device runs" in r.stdout, r.stdout
    # ... and says so in JSON too: the same document, with no outcomes
    code, out = world.push_json("--outdated")
    assert (code, out["sha256"], out["outcomes"]) == (0, sha, []), out


def test_a_failed_canary_stops_the_rollout(world):
    sim = world.sim(3)
    world.avmd("devices", "add", "aa-canary", "127.0.0.1:1")
    new_version(world, "halted")
    code, out = world.push_json("--all")
    results = [o["result"] for o in out["outcomes"]]
    assert code == 1 and results == ["unreachable", "skipped", "skipped", "skipped"], out
    assert all(sim.info(i)["partition"] == "main.avm" for i in range(3))


def test_push_without_a_key_is_a_clear_error(world):
    (world.project / "ota.pub").unlink()
    r = world.avmd("push", "--project", str(world.project), "--all", check=False)
    assert r.returncode == 1 and "avmd key new" in r.stderr, r.stderr


def test_dev_push_sends_every_good_build_to_the_device(world):
    import subprocess, time, os, signal
    sim = world.sim(1)
    first = sim.info(0)["sha256"]
    log = world.tmp / "dev.log"
    with open(log, "w") as out:
        dev = subprocess.Popen([str(world.binary), "dev", str(world.project), "--port", "0", "--push", "sim-0"],
                               env=world.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        # the first good build is the same bundle the device was flashed with: up to date
        sim.wait_info(0, lambda i: "sim-0: up_to_date" in log.read_text() or i["sha256"] != first, 60)
        src = api(world)
        src.write_text(src.read_text().replace(HELLO, HELLO.replace('<<"hello">>', '<<"pushed">>')))
        info = sim.wait_info(0, lambda i: i["sha256"] != first and not i["trial"], 90)
        assert hello(sim, 0) == {"pushed": "x"}
        deadline = time.monotonic() + 20
        while "sim-0: updated" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"push {info['sha256'][:12]} sim-0: updated" in log.read_text(), log.read_text()
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        dev.wait(timeout=20)


def test_dashboard_devices_panel_lists_and_pushes(world):
    import subprocess, time, os, signal, re
    sim = world.sim(1)
    log = world.tmp / "dev.log"
    with open(log, "w") as out:
        dev = subprocess.Popen([str(world.binary), "dev", str(world.project), "--port", "0"],
                               env=world.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        m = None
        while not m and time.monotonic() < deadline:
            m = re.search(r"dashboard http://127\.0\.0\.1:(\d+)/", log.read_text())
            time.sleep(0.1)
        assert m, log.read_text()
        dash = f"127.0.0.1:{m.group(1)}"
        src = api(world)
        src.write_text(src.read_text().replace(HELLO, HELLO.replace('<<"hello">>', '<<"panel">>')))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = get_json(dash, "/api/devices")["devices"]
            if rows and rows[0]["device"]["outdated"]:
                break
            time.sleep(0.2)
        assert rows[0]["device"]["name"] == "sim-0" and rows[0]["device"]["online"], rows
        assert rows[0]["device"]["outdated"] is True, rows
        status, body = request(dash, "POST", "/api/devices/sim-0/push")
        assert status == 403 and b"x-avmd-action" in body
        status, body = request(dash, "POST", "/api/devices/sim-0/push", headers={"x-avmd-action": "push"}, timeout=120)
        assert status == 200 and json.loads(body)["result"] == "updated", body
        assert hello(sim, 0) == {"panel": "x"}
        rows = get_json(dash, "/api/devices")["devices"]
        assert rows[0]["device"]["outdated"] is False and rows[0]["last_push"]["result"] == "updated", rows
        # the simulated device's console, as the panel shows it: its boots and its app's lines
        lines = get_json(dash, "/api/devices/sim-0/console?limit=500")["lines"]
        assert any("boot 2 from app2.avm" in l for l in lines), lines
        assert any("hello_web listening on port" in l for l in lines), lines
        status, _ = request(dash, "GET", "/api/devices/nobody/console")
        assert status == 404
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        dev.wait(timeout=20)


def test_key_rotation_reaches_devices_running_the_old_key(world):
    sim = world.sim(1)
    old_id = sim.info(0)["key_id"]
    world.avmd("key", "rotate", str(world.project))
    shown = world.avmd("key", "show", str(world.project)).stdout
    new_id = shown.split()[2]
    assert new_id != old_id and "present" in shown
    # the device trusts the old key: the push signs with it and carries the new ota.pub
    _, sha = new_version(world, "rotated")
    code, out = world.push_json("sim-0")
    assert code == 0 and out["outcomes"][0]["result"] == "updated", out
    assert sim.info(0)["key_id"] == new_id
    # from now on only the new key opens it
    _, sha2 = new_version(world, "rotated2")
    code, out = world.push_json("sim-0")
    assert code == 0 and out["outcomes"][0]["result"] == "updated", out
    assert sim.info(0)["sha256"] == sha2


def test_a_missing_private_key_is_a_clear_failure(world):
    sim = world.sim(1)
    import shutil as sh
    sh.rmtree(world.tmp / "keys")
    new_version(world, "nokey")
    code, out = world.push_json("sim-0")
    o = out["outcomes"][0]
    assert code == 1 and o["result"] == "failed" and "restore it from your backup" in o["detail"], o
    assert sim.info(0)["partition"] == "main.avm"


def test_no_upload_while_a_trial_boot_waits_for_its_confirm(world):
    sim = world.sim(1)
    a = sim.address(0)
    key = world.private_key()
    image, sha = new_version(world, "trial")
    status, body = request(a, "PUT", "/_avm/ota", image, upload_headers(a, key, image))
    assert status == 200, body
    sim.wait_info(0, lambda i: i["sha256"] == sha and i["trial"])
    # the old app's partition is the way back: nothing may overwrite it now
    status, body = request(a, "PUT", "/_avm/ota", image, upload_headers(a, key, image))
    assert status == 409 and b"trial boot is in progress" in body, (status, body)
    status, body = request(a, "POST", "/_avm/ota/confirm")
    assert status == 200 and json.loads(body)["status"] == "confirmed"
    info = sim.info(0)
    assert info["trial"] is False and info["last_update"] == {"result": "confirmed", "sha256": sha}
