"""Group 5 (Autobahn 5.x): fragmented messages, control frames between fragments, bad continuations."""

import pytest

from ws_raw import BINARY, CONT, PING, PONG, TEXT, Raw, frame


def test_5_1_fragmented_ping(port):
    r = Raw(port)
    r.send(frame(PING, b"fragment1", fin=False) + frame(CONT, b"fragment2"))
    assert r.expect_close() == 1002


def test_5_2_fragmented_pong(port):
    r = Raw(port)
    r.send(frame(PONG, b"fragment1", fin=False) + frame(CONT, b"fragment2"))
    assert r.expect_close() == 1002


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
@pytest.mark.parametrize("chop", [None, 1, 3], ids=["5.3-whole", "5.5-chop1", "5.4-chop3"])
def test_two_fragments(port, opcode, chop):
    r = Raw(port)
    r.send(frame(opcode, b"fragment1", fin=False) + frame(CONT, b"fragment2"), chop=chop)
    assert r.recv_message() == (opcode, b"fragment1fragment2")
    r.close()


@pytest.mark.parametrize("chop", [None, 1, 5], ids=["5.6-whole", "5.8-chop1", "5.7-chop5"])
def test_ping_between_fragments(port, chop):
    r = Raw(port)
    r.send(frame(TEXT, b"fragment1", fin=False) + frame(PING, b"ping payload") + frame(CONT, b"fragment2"),
           chop=chop)
    assert r.recv_frame() == (True, 0, PONG, b"ping payload")
    assert r.recv_message() == (TEXT, b"fragment1fragment2")
    r.close()


@pytest.mark.parametrize(
    "frames,echo",
    [
        ([frame(CONT, b"non-continuation payload"), frame(TEXT, b"Hello, world!")], None),
        ([frame(CONT, b"fragment1", fin=False), frame(CONT, b"fragment2"), frame(CONT, b"fragment3")], None),
        ([frame(TEXT, b"fragment1", fin=False), frame(TEXT, b"fragment2")], None),
        ([frame(TEXT, b"fragment1", fin=False), frame(BINARY, b"fragment2", fin=False)], None),
        # the complete message before the stray continuation is still echoed
        ([frame(TEXT, b"fragment1", fin=False), frame(CONT, b"fragment2"), frame(CONT, b"fragment3")],
         b"fragment1fragment2"),
    ],
    ids=["5.9-cont-first", "5.12-cont-nofin-first", "5.15-text-in-text", "5.18-binary-in-text",
         "5.17-cont-after-end"],
)
@pytest.mark.parametrize("chop", [None, 1])
def test_bad_continuation(port, frames, echo, chop):
    r = Raw(port)
    r.send(b"".join(frames), chop=chop)
    if echo is not None:
        assert r.recv_message() == (TEXT, echo)
    assert r.expect_close() == 1002


@pytest.mark.parametrize("chop", [None, 1], ids=["5.19", "5.20-chopped"])
def test_five_fragments_with_pings(port, chop):
    r = Raw(port)
    parts = [b"fragment%d" % i for i in range(1, 6)]
    data = frame(TEXT, parts[0], fin=False)
    for i, p in enumerate(parts[1:], start=1):
        data += frame(PING, b"pongme %d!" % i) + frame(CONT, p, fin=(i == 4))
    r.send(data, chop=chop)
    for i in range(1, 5):
        assert r.recv_frame() == (True, 0, PONG, b"pongme %d!" % i)
    assert r.recv_message() == (TEXT, b"".join(parts))
    r.close()


def test_empty_fragments(port):
    r = Raw(port)
    r.send(frame(TEXT, b"", fin=False) + frame(CONT, b"", fin=False) + frame(CONT, b""))
    assert r.recv_message() == (TEXT, b"")
    r.close()


def test_many_small_fragments(port):
    r = Raw(port)
    payload = bytes(range(256)) * 4
    data = b"".join(frame(BINARY if i == 0 else CONT, payload[i:i + 10], fin=(i + 10 >= len(payload)))
                    for i in range(0, len(payload), 10))
    r.send(data)
    assert r.recv_message() == (BINARY, payload)
    r.close()
