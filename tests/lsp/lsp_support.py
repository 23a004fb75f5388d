"""Shared by the editor tests: a scratch copy of an example, waiting on a client's state, applying the
server's text edits the way an editor does."""

import asyncio
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from vm_support import ROOT, avmd_binary  # noqa: E402

EXAMPLE = ROOT / "examples" / "hello_web"


def scratch_example(tmp: pathlib.Path, name="hello_web") -> pathlib.Path:
    dst = tmp / name
    shutil.copytree(ROOT / "examples" / name, dst, ignore=shutil.ignore_patterns("_build"))
    return dst


async def until(pred, what, timeout=120.0):
    """Polls `pred()` until it returns something truthy (bounded); fails naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        got = pred()
        if got:
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def offset(text: str, line: int, character: int) -> int:
    """Byte-free offset of an LSP position (UTF-16 units; the tests' texts are ASCII)."""
    lines = text.split("\n")
    return sum(len(l) + 1 for l in lines[:line]) + character


def apply_edits(text: str, edits) -> str:
    """The text after the edits, applied from the last to the first, as LSP says they are meant."""
    spans = sorted(
        ((offset(text, e.range.start.line, e.range.start.character),
          offset(text, e.range.end.line, e.range.end.character), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def line_of(text: str, needle: str) -> int:
    return next(i for i, l in enumerate(text.split("\n")) if needle in l)
