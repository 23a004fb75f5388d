"""Fixtures for the `avmd dev` end-to-end tests: the binary (built once per session), a temp copy of
examples/hello_web, and a running `avmd dev` on free 127.0.0.1 ports (helpers in dev_support.py)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dev_support import EXAMPLE, ROOT, Dev


@pytest.fixture(scope="session")
def avmd_bin():
    subprocess.run(["cargo", "build", "-q", "-p", "avmd"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "debug" / "avmd"
    assert binary.is_file(), binary
    return binary


@pytest.fixture
def project(tmp_path):
    dest = tmp_path / "hello_web"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("_build"))
    if not (dest / "avmd.toml").exists():
        (dest / "avmd.toml").write_text('name = "hello_web"\nprofile = "esp32"\n')
    return dest


@pytest.fixture
def dev(avmd_bin, project, tmp_path):
    d = Dev(avmd_bin, project, tmp_path / "avmd-dev.log").start()
    yield d
    d.stop()
