"""A network namespace of the test's own, so mDNS multicast never leaves it (the brief's rule: nothing
multicast on the machine's interfaces). Its loopback is up, multicast-capable and routes 224.0.0.0/4;
every process of a test that speaks mDNS runs in it through `cmd()`. Needs root (ip netns)."""

import itertools
import os
import subprocess

import pytest

_seq = itertools.count()


class Netns:
    def __init__(self):
        self.name = f"avmd-test-{os.getpid()}-{next(_seq)}"
        r = subprocess.run(["ip", "netns", "add", self.name], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot create a network namespace (needs root and iproute2): {r.stderr.strip()}")
        for step in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "lo", "multicast", "on"],
                     ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"]):
            r = subprocess.run(self.cmd(step), capture_output=True, text=True)
            if r.returncode != 0:
                self.close()
                pytest.skip(f"cannot set up the network namespace ({' '.join(step)}): {r.stderr.strip()}")

    def cmd(self, args):
        return ["ip", "netns", "exec", self.name, *map(str, args)]

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)
