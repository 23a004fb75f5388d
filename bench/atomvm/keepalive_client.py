# A keep-alive HTTP client for bench/atomvm/count.sh: PORT N PATH, reconnecting when the server closes.
import socket, sys, re
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "/"
req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n".encode()
s = None; done = 0
while done < n:
    if s is None:
        s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req); data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)content-length: *(\d+)", head)
        if sep and m and len(body) >= int(m.group(1)): break
        c = s.recv(65536)
        if not c: break
        data += c
    if not data:
        s.close(); s = None; continue
    done += 1
    if b"connection: close" in data.lower():
        s.close(); s = None
print("ok", done, data[:200])
