"""Group 6 (Autobahn 6.x): text must be valid UTF-8 (RFC 6455 8.1) — checked across fragment boundaries,
splits inside a code point included; invalid text fails with 1007, as soon as the bad byte arrives."""

import pytest

from ws_raw import CONT, TEXT, Raw, frame

HELLO = "Hello-µ@ßöäüàá-UTF-8!!".encode()
KOSME = "κόσμε".encode()

VALID = [
    b"", HELLO, KOSME, "a€b𝄞c".encode(), b"\x7f", b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf",
    b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xef\xbb\xbf",
]
INVALID = [
    KOSME + b"\xed\xa0\x80" + b"edited",  # 6.3: a surrogate
    b"\x80", b"\xbf", b"\x80\xbf\x80",  # 6.8: lone continuation bytes
    b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80",  # 6.9-6.11: overlong
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\x80\xed\xb0\x80",  # 6.12: surrogates
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xfe", b"\xff", b"\xfe\xfe\xff\xff",  # beyond U+10FFFF
    b"\xc2", b"\xe2\x82", b"\xf0\x9d\x84", b"ok\xc2",  # 6.14: incomplete at the end
    b"\xc2 x", b"\xe2\x82x",  # 6.15: a sequence cut short inside
]


@pytest.mark.parametrize("text", VALID, ids=lambda t: t.hex() or "empty")
def test_valid_in_one_frame(port, text):
    r = Raw(port)
    r.send_frame(TEXT, text)
    assert r.recv_message() == (TEXT, text)
    r.close()


@pytest.mark.parametrize("text", [HELLO, KOSME, "a€b𝄞c".encode()], ids=["hello", "kosme", "mixed"])
def test_valid_fragmented_at_every_byte(port, text):
    """6.2.3 / 6.6: one frame per byte, so every code point is split across frames."""
    r = Raw(port)
    data = b"".join(frame(TEXT if i == 0 else CONT, text[i:i + 1], fin=(i == len(text) - 1))
                    for i in range(len(text)))
    r.send(data)
    assert r.recv_message() == (TEXT, text)
    r.close()


@pytest.mark.parametrize("text", [HELLO, KOSME], ids=["hello", "kosme"])
def test_valid_chopped_into_single_bytes(port, text):
    r = Raw(port)
    r.send_frame(TEXT, text, chop=1)
    assert r.recv_message() == (TEXT, text)
    r.close()


@pytest.mark.parametrize("cut", range(1, 4))
def test_split_inside_a_code_point_across_two_fragments(port, cut):
    text = "𝄞".encode()  # 4 bytes
    r = Raw(port)
    r.send(frame(TEXT, text[:cut], fin=False) + frame(CONT, text[cut:]))
    assert r.recv_message() == (TEXT, text)
    r.close()


@pytest.mark.parametrize("text", INVALID, ids=lambda t: t.hex())
def test_invalid_in_one_frame(port, text):
    r = Raw(port)
    r.send_frame(TEXT, text)
    assert r.expect_close() == 1007


@pytest.mark.parametrize("text", INVALID[:6], ids=lambda t: t.hex())
def test_invalid_fragmented_at_every_byte(port, text):
    r = Raw(port)
    data = b"".join(frame(TEXT if i == 0 else CONT, text[i:i + 1], fin=(i == len(text) - 1))
                    for i in range(len(text)))
    r.send(data)
    assert r.expect_close() == 1007


def test_fail_fast_before_the_message_ends(port):
    """6.4.x: the bad bytes come in the first fragment; the final fragment is never sent."""
    r = Raw(port)
    r.send_frame(TEXT, KOSME + b"\xf4\x90\x80\x80", fin=False)
    assert r.expect_close() == 1007


def test_message_ending_inside_a_code_point(port):
    r = Raw(port)
    r.send(frame(TEXT, b"abc\xe2", fin=False) + frame(CONT, b"\x82"))
    assert r.expect_close() == 1007


def test_binary_is_not_utf8_checked(port):
    r = Raw(port)
    r.send_frame(2, b"\xff\xfe\xc0")
    assert r.recv_message() == (2, b"\xff\xfe\xc0")
    r.close()
