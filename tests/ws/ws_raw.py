"""A raw WebSocket client over a plain socket, for the frames a real client library refuses to send.

Frames are built by hand (RFC 6455 5.2) so the suite can send reserved bits, reserved opcodes, unmasked
frames, bad lengths and broken UTF-8, and can split a frame into arbitrary chops. Every read has a
bound (TIMEOUT seconds), so a server that hangs fails the test instead of hanging it.
"""

import base64
import hashlib
import os
import socket
import struct

TIMEOUT = 10.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """The bytes of one client frame; `length` overrides the declared payload length."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_payload(code=None, reason=b""):
    return b"" if code is None else struct.pack("!H", code) + reason


class Raw:
    """One upgraded connection."""

    def __init__(self, port, path="/echo", headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ] + (headers or [])
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        status, self.headers = self._read_head()
        assert status == 101, f"expected 101, got {status}"
        expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        assert self.headers["sec-websocket-accept"] == expected

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            more = self.sock.recv(65536)
            assert more, "connection closed during the handshake"
            self.buf += more
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def send(self, data, chop=None, refused_ok=False):
        """Sends bytes, optionally in pieces of `chop` bytes (Autobahn's "chopped" cases). With
        `refused_ok` the server may close before it has read everything (it fails a frame on its header
        and drops at most 64 KB of the rest), so a reset while sending is expected."""
        try:
            if chop is None:
                self.sock.sendall(data)
            else:
                for i in range(0, len(data), chop):
                    self.sock.sendall(data[i : i + chop])
        except (BrokenPipeError, ConnectionResetError):
            if not refused_ok:
                raise

    def send_frame(self, opcode, payload=b"", chop=None, **kw):
        self.send(frame(opcode, payload, **kw), chop)

    def _fill(self, n):
        while len(self.buf) < n:
            more = self.sock.recv(65536)
            if not more:
                return False
            self.buf += more
        return True

    def recv_frame(self):
        """(fin, rsv, opcode, payload), or None when the server closed TCP. Server frames are never masked."""
        if not self._fill(2):
            assert self.buf == b"", f"connection closed inside a frame header: {self.buf!r}"
            return None
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frames must not be masked (RFC 6455 5.1)"
        n, off = b1 & 0x7F, 2
        if n == 126:
            assert self._fill(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            assert self._fill(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        assert self._fill(off + n), "connection closed inside a frame"
        payload, self.buf = self.buf[off : off + n], self.buf[off + n :]
        return (bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, payload)

    def recv_message(self):
        """The next data message (reassembled), skipping nothing: (opcode, payload)."""
        f = self.recv_frame()
        assert f is not None, "connection closed, expected a message"
        fin, _, op, payload = f
        while not fin:
            nxt = self.recv_frame()
            assert nxt is not None and nxt[2] == CONT
            fin, payload = nxt[0], payload + nxt[3]
        return op, payload

    def expect_close(self, answer=True):
        """Reads until the server's close frame; returns its code (None for an empty body). Then answers
        with a close frame (as a client does) and checks the server closes TCP."""
        while True:
            f = self.recv_frame()
            assert f is not None, "TCP closed without a close frame"
            if f[2] == CLOSE:
                break
        payload = f[3]
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        if answer:
            try:
                self.sock.sendall(frame(CLOSE, payload[:2]))
            except OSError:
                pass
        self.expect_tcp_close()
        return code

    def expect_tcp_close(self):
        """The server closes the TCP connection (no further frames)."""
        try:
            rest = self.recv_frame()
        except ConnectionResetError:
            rest = None
        assert rest is None, f"expected TCP close, got frame {rest!r}"

    def close(self):
        self.sock.close()


def http_request(port, raw_request):
    """Sends a raw HTTP request; returns (status, headers, body) of the response (connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(raw_request)
        data = b""
        while True:
            try:
                more = s.recv(65536)
            except ConnectionResetError:
                break
            if not more:
                break
            data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body
