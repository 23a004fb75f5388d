"""The network bootstrap (runtime/src/avmd_net.erl) on host OTP's `network` shim, which puts the networks
AVMD_WIFI names in the air: with nothing stored the device serves the setup page (the scan's networks,
SSIDs escaped), a wrong password brings the page back with the reason, the right one stores the
credentials in NVS and the app comes up; after a restart it joins at once. Host only: generic_unix
AtomVM has no Wi-Fi driver, and a real one is not here. Plain HTTP on 127.0.0.1, nothing multicast."""

import os
import pathlib
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "dev"))
import vm_support  # noqa: E402
from dev_support import poll  # noqa: E402

pytestmark = pytest.mark.skipif(vm_support.VM != "host", reason="the Wi-Fi shim is host OTP's")


def http(url, data=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sim(tmp, port, fresh):
    env = dict(os.environ, AVMD_WIFI="home:secret,<b>cafe</b>:", AVMD_HOME=str(tmp / "home"))
    args = [str(vm_support.avmd_binary()), "sim", str(tmp / "net_app"), "--count", "1", "--no-register",
            "--base-port", str(port), "--dir", str(tmp / "flash")] + (["--fresh"] if fresh else [])
    out = open(tmp / "sim.log", "a")
    return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(p):
    os.killpg(p.pid, signal.SIGTERM)
    p.wait(timeout=20)


def test_setup_page_stores_credentials_and_the_app_comes_up(tmp_path):
    import shutil
    shutil.copytree(HERE.parent / "net_app", tmp_path / "net_app")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    p = sim(tmp_path, port, fresh=True)
    try:
        status, page = poll("the setup page", lambda: http(base + "/"))
        assert status == 200 and "No Wi-Fi network is configured yet." in page, page
        assert "<li>home (" in page and "&lt;b&gt;cafe&lt;/b&gt;" in page and "<b>cafe" not in page, page

        status, body = http(base + "/save", b"ssid=home&psk=wrong")
        assert status == 200 and "Joining home" in body, body
        def reason():
            _, page = http(base + "/")
            return page if "Could not join home." in page else None
        page = poll("the page back with the reason", reason)
        assert "<form" in page

        assert http(base + "/save", b"ssid=&psk=x")[0] == 400
        assert http(base + "/save", b"ssid=" + b"x" * 600)[0] == 413

        status, body = http(base + "/save", b"ssid=home&psk=secret")
        assert status == 200, body
        poll("the app", lambda: http(base + "/") == (200, "net_app up\n"))
        nvs = tmp_path / "flash" / "sim-0" / "nvs"
        assert (nvs / "avmd.wifi_ssid").read_bytes() == b"home"
        assert (nvs / "avmd.wifi_psk").read_bytes() == b"secret"
    finally:
        stop(p)
    # the stored network is joined at once after a restart: no setup page in between
    p = sim(tmp_path, port, fresh=False)
    try:
        poll("the app after a restart", lambda: http(base + "/") == (200, "net_app up\n"))
        assert (tmp_path / "sim.log").read_text().count("setup page up") == 2
    finally:
        stop(p)
