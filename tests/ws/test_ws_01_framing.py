"""Group 1 (Autobahn 1.x): echo of text and binary messages at every payload-length encoding boundary."""

import pytest
from websockets.sync.client import connect

from ws_raw import BINARY, TEXT, Raw

SIZES = [0, 1, 125, 126, 127, 128, 65535, 65536]


@pytest.mark.parametrize("size", SIZES)
def test_text_echo(port, size):
    msg = "*" * size
    with connect(f"ws://127.0.0.1:{port}/echo", max_size=None) as ws:
        ws.send(msg)
        assert ws.recv() == msg


@pytest.mark.parametrize("size", SIZES)
def test_binary_echo(port, size):
    msg = bytes(i % 256 for i in range(size))
    with connect(f"ws://127.0.0.1:{port}/echo", max_size=None) as ws:
        ws.send(msg)
        assert ws.recv() == msg


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
@pytest.mark.parametrize("chop", [997, 1])
def test_65536_bytes_sent_in_chops(port, opcode, chop):
    size = 65536 if chop > 1 else 300  # byte-by-byte over a large frame is only slow, not different
    payload = b"\xfe" * size if opcode == BINARY else b"*" * size
    r = Raw(port)
    r.send_frame(opcode, payload, chop=chop)
    assert r.recv_message() == (opcode, payload)
    r.close()


@pytest.mark.parametrize("size,head", [(125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_server_uses_minimal_length_encoding(port, size, head):
    r = Raw(port)
    r.send_frame(BINARY, b"x" * size)
    r._fill(head)
    second = r.buf[1]
    assert second == {2: 125, 4: 126, 10: 127}[head]
    assert r.recv_message() == (BINARY, b"x" * size)
    r.close()
