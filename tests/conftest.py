"""Shared by every end-to-end test: no avmd process looks for devices on the machine's network (mDNS).
The tests that do multicast (tests/devices) run inside a network namespace of their own and turn it
back on there."""

import os

os.environ["AVMD_NO_MDNS"] = "1"
