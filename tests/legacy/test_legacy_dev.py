"""`avmd dev` on examples/legacy_httpd (host OTP; `avmd dev --vm atomvm` is tests/vm's business): the
route map lists atomvm_lib's handler entries, a save reloads, a handler that loses a callback is named
in the build's diagnostics. The app's project files are the rebar.config and .app.src as they are."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "dev"))
import vm_support  # noqa: E402
from dev_support import Dev, get_json, http_get, poll, rewrite  # noqa: E402

ROOT = HERE.parents[2]


def test_dev_loop_serves_reloads_and_maps_atomvm_lib_routes(tmp_path):
    project = vm_support.copy_project(ROOT / "examples" / "legacy_httpd", tmp_path / "legacy_httpd")
    assert not (project / "avmd.toml").exists()
    dev = Dev(vm_support.avmd_binary(), project, tmp_path / "dev.log").start()
    try:
        routes = get_json(dev.api + "/api/routes")
        assert routes["file"] == "src/legacy_httpd.erl", routes
        got = [(r["path"], r["handler"], r["target"]) for r in routes["routes"]]
        assert got == [
            ("/api/*", "httpd_api_handler", "legacy_api"),
            ("/ws/*", "httpd_ws_handler", "legacy_ws"),
            ("/upload/*", "legacy_upload", None),
            ("/hello/*", "hello_avmd", None),
            ("/*", "httpd_file_handler", None),
        ], got

        status, _, body = http_get(dev.app + "/api/greet?name=ann")
        assert (status, json.loads(body)) == (200, {"greeting": "hello ann"})
        rewrite(project / "src" / "legacy_api.erl", '"hello " ++ Name', '"hi there " ++ Name')
        dev.wait_body("/api/greet?name=ann", b'"hi there ann"')

        # the WebSocket module loses its message callback: the build says so at its route
        rewrite(project / "src" / "legacy_ws.erl", "-export([handle_ws_init/3, handle_ws_message/2]).",
                "-export([handle_ws_init/3]).\n-compile(nowarn_unused_function).")

        def warned():
            diags = get_json(dev.api + "/api/diagnostics")
            text = json.dumps(diags)
            return diags if "legacy_ws does not export handle_ws_message/2" in text else None

        poll("the contract warning", warned)
    finally:
        dev.stop()
