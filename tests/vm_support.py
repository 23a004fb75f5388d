"""Which VM the end-to-end suites run their servers on, and how to boot a bundle on the real AtomVM.

AVMD_VM=host (the default) boots servers on host OTP; AVMD_VM=atomvm boots the same code, packed by
`avmd build`, on the real AtomVM (generic_unix at the pinned commit, built by scripts/atomvm.sh).
tests/run.sh runs tests/http and tests/ws once per VM.
"""

import os
import pathlib
import re
import shutil
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
VM = os.environ.get("AVMD_VM", "host")
assert VM in ("host", "atomvm"), f"AVMD_VM must be host or atomvm, not {VM!r}"


def avmd_binary():
    subprocess.run(["cargo", "build", "-q", "-p", "avmd"], cwd=ROOT, check=True)
    binary = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "avmd"
    assert binary.is_file(), binary
    return binary


def atomvm_dir():
    """The directory holding AtomVM and atomvmlib.avm (built on first use, about a minute)."""
    out = subprocess.run([str(ROOT / "scripts" / "atomvm.sh")], check=True, capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip().splitlines()[-1])


def wait_for(log, pattern, proc, what, seconds=120):
    """The first match of `pattern` in the file `log`, polling while `proc` lives (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = re.search(pattern, log.read_text(errors="replace"))
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{what} did not start:\n" + log.read_text(errors="replace"))


def copy_project(src, dest):
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("_build"))
    return dest


def run_on_atomvm(project, log, extra=()):
    """Popen of `avmd run --vm atomvm --port 0 PROJECT`, and the port it serves on."""
    return run_project(project, log, ("--vm", "atomvm", *extra))


def run_on_vm(project, log, extra=()):
    """`avmd run --port 0 PROJECT` on the VM AVMD_VM names: (Popen, port)."""
    vm = ("--vm", "atomvm") if VM == "atomvm" else ()
    return run_project(project, log, (*vm, *extra))


def run_project(project, log, extra=()):
    """Popen of `avmd run PROJECT --port 0 EXTRA...`, and the port it serves on."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(avmd_binary()), "run", str(project), "--port", "0", *extra],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        m = wait_for(log, r"serving \S+ on http://127\.0\.0\.1:(\d+)/", proc, "avmd run " + " ".join(extra))
    except AssertionError:
        stop(proc)
        raise
    return proc, int(m.group(1))


def stop(proc):
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    proc.wait()
