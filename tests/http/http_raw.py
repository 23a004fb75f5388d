"""Raw-socket helper for the HTTP end-to-end tests (a module of its own: every test dir has a conftest)."""

import socket
import time


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes and returns everything the server sends until it closes (bounded by timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
