"""`avmd lsp` in a real editor: Debian's Neovim (0.7, headless) with the built-in client set up as
docs/lsp.md shows, editing a copy of examples/hello_web through Neovim's own buffer API
(nvim_flow.lua): the typed call is flagged without a save, hover shows the platform table, completion
after `lists:` has only what esp32 has, the quick fix applies and clears, a syntax error shows and clears."""

import json
import os
import shutil
import subprocess

import pytest

from lsp_support import ROOT, avmd_binary, scratch_example

NVIM = shutil.which("nvim")


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (scripts/setup.sh installs Debian's neovim)")
def test_neovim_07_builtin_client_flow(tmp_path):
    root = scratch_example(tmp_path)
    out = tmp_path / "nvim.json"
    env = dict(os.environ, AVMD_BIN=str(avmd_binary()), AVMD_NVIM_ROOT=str(root), AVMD_NVIM_OUT=str(out))
    flow = ROOT / "tests" / "lsp" / "nvim_flow.lua"
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {flow}"],
        env=env, cwd=root, capture_output=True, text=True, timeout=300,
    )
    assert out.exists(), f"nvim wrote nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert result.get("error") is None, json.dumps(result, indent=1)
    names = [s["name"] for s in result["steps"] if s["ok"]]
    assert names[-1] == "syntax error cleared", names
    print(f"neovim: typed call to diagnostic {result['typed_to_diagnostic_ms']:.0f} ms")
