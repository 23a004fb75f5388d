"""Run inside the test's network namespace: sends malformed mDNS packets to the group, then asks the
device a well-formed question by legacy unicast (RFC 6762 section 6.7) and prints what it answered as
JSON: {"answers": [[type, ...]], "srv_port": N}. Exit 1 when nothing answers."""

import json
import socket
import struct
import sys

GROUP = ("224.0.0.251", 5353)


def name(labels):
    return b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\0"


def header(qd=1, an=0, ident=0):
    return struct.pack(">HHHHHH", ident, 0, qd, an, 0, 0)


MALFORMED = [
    b"",                                                      # empty
    b"\x00\x01\x02",                                          # truncated header
    header() + b"\x05ab",                                     # truncated label
    header() + b"\xc0\x0c\x00\x01\x00\x01",                   # pointer to itself: a loop
    header() + b"\x01a\xc0\x0e\x00\x01\x00\x01",              # pointer forwards
    header() + b"\xc0\x0c" * 40,                              # a chain of pointers
    header() + (b"\x3f" + b"a" * 63) * 5 + b"\0\x00\x01\x00\x01",  # a name over 255 bytes
    header(qd=65535),                                         # more questions than it holds
    header(qd=0, an=1) + b"\0\x00\x01\x00\x01\x00\x00\x00\x10\xff\xff",  # record longer than the packet
    b"\xff" * 9001,                                           # over the mDNS size limit
]


def main(instance):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    for p in MALFORMED * 3:
        s.sendto(p, GROUP)
    q = header(ident=0x4242) + name([instance, "_avmd", "_tcp", "local"]) + struct.pack(">HH", 33, 1)
    s.settimeout(2)
    for _ in range(10):
        s.sendto(q, GROUP)
        try:
            while True:
                data, _ = s.recvfrom(9000)
                ident, _flags, qd, an = struct.unpack(">HHHH", data[:8])
                if ident == 0x4242 and an > 0:
                    print(json.dumps({"answers": an, "bytes": len(data)}))
                    return 0
        except socket.timeout:
            continue
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
