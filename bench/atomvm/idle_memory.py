"""Memory of idle connections on a running bench_avm `ours' server: bench/atomvm/run.sh calls it with
the port. Holds N keep-alive connections that each served one request, and N WebSockets that each
echoed one message, past the server's idle report (1 s: an idle connection drops its config copy and
collects), and prints the growth of the processes' memory per connection, from the server's /mem.
Usage: idle_memory.py PORT [N]"""

import base64
import os
import socket
import sys
import time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 4


def mem():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /mem HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    procs, total = data.split(b"\r\n\r\n", 1)[1].split()
    return int(procs), int(total)


def read_reply(s):
    data = b""
    while b"Hello, World!" not in data:
        data += s.recv(4096)


def keepalive():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
    read_reply(s)
    return s


def websocket():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    assert data.startswith(b"HTTP/1.1 101"), data
    mask = b"\x01\x02\x03\x04"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"hi"))
    s.sendall(b"\x81\x82" + mask + payload)
    echo = data.split(b"\r\n\r\n", 1)[1]
    while len(echo) < 4:
        echo += s.recv(4096)
    return s


def per_connection(make):
    time.sleep(1.5)
    _, before = mem()
    held = [make() for _ in range(n)]
    time.sleep(2.5)
    _, after = mem()
    for s in held:
        s.close()
    return (after - before) / n


print("idle keep-alive connection: %.0f bytes" % per_connection(keepalive))
print("idle WebSocket: %.0f bytes" % per_connection(websocket))

if os.environ.get("AVMD_BENCH_REQUESTS"):
    # then this many requests on one keep-alive connection (for the RSS figure run.sh reads after)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for _ in range(int(os.environ["AVMD_BENCH_REQUESTS"])):
        s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
        read_reply(s)
    s.close()
