"""Throwaway network namespaces as ping targets: a bridge on this host, one namespace each.

Addresses are in 10.194.250.0/24 and fd94:194:250::/64 (host side .1 / ::1), names start
with ``hae``; nothing else on the machine is touched, and everything is removed at the end
even after a failed test.
"""

from __future__ import annotations

import os
import subprocess

SUBNET = "10.194.250"
SUBNET6 = "fd94:194:250::"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class NetnsTargets:
    def __init__(self, count: int, tag: str | None = None):
        self.count = count
        self.tag = tag or f"{os.getpid() % 1000:03d}"
        self.bridge = f"haebr{self.tag}"
        self.names = [f"hae-{self.tag}-{i}" for i in range(count)]
        self.addresses = [f"{SUBNET}.{10 + i}" for i in range(count)]
        self.addresses6 = [f"{SUBNET6}{10 + i:x}" for i in range(count)]

    def _veth(self, i: int) -> tuple[str, str]:
        return f"hae{self.tag}h{i}", f"hae{self.tag}n{i}"

    def up(self) -> NetnsTargets:
        self.down()
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{SUBNET}.1/24", "dev", self.bridge)
        ip("-6", "addr", "add", f"{SUBNET6}1/64", "dev", self.bridge, "nodad")
        ip("link", "set", self.bridge, "up")
        for i, name in enumerate(self.names):
            host, inner = self._veth(i)
            ip("netns", "add", name)
            ip("link", "add", host, "type", "veth", "peer", "name", inner)
            ip("link", "set", inner, "netns", name)
            ip("link", "set", host, "master", self.bridge, "up")
            ip("-n", name, "addr", "add", f"{self.addresses[i]}/24", "dev", inner)
            ip("-n", name, "-6", "addr", "add", f"{self.addresses6[i]}/64", "dev", inner,
               "nodad")
            ip("-n", name, "link", "set", inner, "up")
            ip("-n", name, "link", "set", "lo", "up")
        return self

    def set_link(self, i: int, up: bool) -> None:
        ip("-n", self.names[i], "link", "set", self._veth(i)[1], "up" if up else "down")

    def down(self) -> None:
        for i, name in enumerate(self.names):
            ip("link", "del", self._veth(i)[0], check=False)
            ip("netns", "del", name, check=False)
        ip("link", "del", self.bridge, check=False)
