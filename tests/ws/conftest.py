"""Boots the WebSocket fixture servers on host OTP or (AVMD_VM=atomvm) the real AtomVM, and prints the
conformance table.

On host, the runtime (runtime/src + the host shim) and tests/ws/ws_fixture.erl are compiled into a temp
dir and one `erl` runs three servers on 127.0.0.1 with port 0 and prints their ports. On AtomVM,
`avmd build` packs a temp project holding ws_fixture.erl and AtomVM runs the bundle the same way. Test files are named
test_ws_<group>_*.py after Autobahn|Testsuite's case groups; the session ends with a table
"case group | cases | passed".
"""

import collections
import os
import pathlib
import re
import subprocess
import tempfile

import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import vm_support  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent

GROUPS = {
    "00": "0 opening handshake",
    "01": "1 framing (echo)",
    "02": "2 ping/pong",
    "03": "3 reserved bits",
    "04": "4 opcodes",
    "05": "5 fragmentation",
    "06": "6 UTF-8",
    "07": "7 close handling",
    "09": "9 large messages, limits",
    "10": "10 server (push, cap, idle)",
}

_results = collections.OrderedDict()


def _compile(out):
    src = ROOT / "runtime" / "src"
    behaviours = [str(src / "httpd_handler.erl")] + [
        str(p) for p in sorted(src.glob("*.erl")) if "\n-callback" in p.read_text()
    ]
    run = lambda files: subprocess.run(  # noqa: E731
        ["erlc", "-pa", out, "-o", out, *files], check=True, capture_output=True, text=True
    )
    run(behaviours)
    run([str(p) for p in sorted(src.glob("*.erl"))] + [str(ROOT / "runtime" / "host" / "atomvm.erl")])
    run([str(HERE / "ws_fixture.erl")])


def _fixture_command(out):
    """The command that runs ws_fixture:start() on the chosen VM, its build done in `out`."""
    if vm_support.VM == "atomvm":
        project = pathlib.Path(out) / "ws_fixture"
        (project / "src").mkdir(parents=True)
        shutil.copy(HERE / "ws_fixture.erl", project / "src")
        (project / "avmd.toml").write_text('name = "ws_fixture"\nstart = "ws_fixture"\n')
        subprocess.run([str(vm_support.avmd_binary()), "build", str(project)], check=True, capture_output=True)
        vm = vm_support.atomvm_dir()
        return ["stdbuf", "-oL", str(vm / "AtomVM"), str(project / "_build" / "avmd" / "ws_fixture.avm"),
                str(vm / "atomvmlib.avm")]
    _compile(out)
    return ["erl", "-noshell", "-pa", out, "-eval", "ws_fixture:start()."]


@pytest.fixture(scope="session")
def ws_ports():
    """(main, idle, cap) ports of the fixture servers."""
    with tempfile.TemporaryDirectory(prefix="ws_fixture_") as out:
        proc = subprocess.Popen(
            _fixture_command(out),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            ports = None
            for _ in range(200):  # bounded: the first lines are at most a few warnings
                line = proc.stdout.readline()
                if not line:
                    break
                m = re.match(r"PORTS (\d+) (\d+) (\d+)", line)
                if m:
                    ports = tuple(int(x) for x in m.groups())
                    break
            assert ports, f"the fixture server did not start on {vm_support.VM}"
            yield ports
        finally:
            proc.kill()
            proc.wait()


@pytest.fixture
def port(ws_ports):
    return ws_ports[0]


def _group(nodeid):
    m = re.search(r"test_ws_(\d\d)_", nodeid)
    return GROUPS.get(m.group(1), m.group(1)) if m else None


def pytest_runtest_logreport(report):
    group = _group(report.nodeid)
    if group is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        cases, passed = _results.get(group, (0, 0))
        _results[group] = (cases + 1, passed + (1 if report.outcome == "passed" else 0))


def pytest_terminal_summary(terminalreporter):
    if not _results:
        return
    tr = terminalreporter
    tr.section(f"WebSocket conformance (Autobahn case groups) on {vm_support.VM}")
    tr.write_line(f"{'case group':<30} | {'cases':>5} | {'passed':>6}")
    tr.write_line(f"{'-' * 30}-+-{'-' * 5}-+-{'-' * 6}")
    total = [0, 0]
    for group in sorted(_results, key=lambda g: int(g.split()[0])):
        cases, passed = _results[group]
        total[0] += cases
        total[1] += passed
        tr.write_line(f"{group:<30} | {cases:>5} | {passed:>6}")
    tr.write_line(f"{'total':<30} | {total[0]:>5} | {total[1]:>6}")
