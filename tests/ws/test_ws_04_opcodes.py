"""Group 4 (Autobahn 4.x): reserved data opcodes 3-7 and reserved control opcodes 11-15 fail with 1002,
also after a valid message (which is still echoed) and with a ping behind them (not answered)."""

import pytest

from ws_raw import PING, TEXT, Raw, frame

RESERVED = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]


@pytest.mark.parametrize("opcode", RESERVED)
def test_reserved_opcode_alone(port, opcode):
    r = Raw(port)
    r.send_frame(opcode)
    assert r.expect_close() == 1002


@pytest.mark.parametrize("opcode", RESERVED)
def test_reserved_opcode_after_valid_message_with_payload(port, opcode):
    r = Raw(port)
    r.send(frame(TEXT, b"Hello, world!") + frame(opcode, b"reserved opcode payload") + frame(PING))
    assert r.recv_frame() == (True, 0, TEXT, b"Hello, world!")
    assert r.expect_close() == 1002
