"""Real targets for the attackers without the lab: this machine, and a namespace pair.

Process faults run against processes the tests start on this machine (a node with
``transport: local``). Network faults run inside two throwaway network namespaces joined by
a veth pair (``hat-<pid>-a`` <-> ``hat-<pid>-b``, 10.231.<n>.0/24, nothing on the host side),
reached through a test-only shell that prefixes ``ip netns exec``: the attacker's node-side
commands, timers included, really run in the namespace whose link they cut.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from kernel_guest import KernelGuest, missing

from ha_tests.context import RunContext
from ha_tests.inventory import Inventory
from ha_tests.transport import ShellPool
from ha_tests.transport.local import LocalShell


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=10)


class NetnsShell(LocalShell):
    """A node's shell inside a network namespace (a local node cannot enter one)."""

    def __init__(self, node_name: str, netns: str):
        super().__init__(node_name)
        self.netns = netns

    def run(self, argv: Sequence[str], *, timeout: float = 30.0, stdin: bytes | None = None):
        return super().run(["ip", "netns", "exec", self.netns, *argv], timeout=timeout,
                           stdin=stdin)


class NetnsPool(ShellPool):
    def __init__(self, inventory: Inventory, namespaces: dict[str, str]):
        super().__init__(inventory)
        self.namespaces = namespaces

    def _make(self, node):
        if node.name in self.namespaces:
            return NetnsShell(node.name, self.namespaces[node.name])
        return super()._make(node)


class NetnsPair:
    """Two namespaces a and b, veth between them, a default route in a (via b)."""

    def __init__(self, index: int = 0):
        self.tag = f"{os.getpid() % 100000}"
        n = 10 + os.getpid() % 200
        self.subnet = f"10.231.{n}"
        self.ns = {"a": f"hat-{self.tag}-a", "b": f"hat-{self.tag}-b"}
        self.dev = {"a": f"hat{self.tag}a", "b": f"hat{self.tag}b"}
        self.addr = {"a": f"{self.subnet}.1", "b": f"{self.subnet}.2"}
        self.addr6 = {"a": f"fd31:{n}::1", "b": f"fd31:{n}::2"}

    def up(self) -> NetnsPair:
        self.down()
        for side in "ab":
            ip("netns", "add", self.ns[side])
        ip("link", "add", self.dev["a"], "netns", self.ns["a"], "type", "veth", "peer",
           "name", self.dev["b"], "netns", self.ns["b"])
        for side in "ab":
            ns, dev = self.ns[side], self.dev[side]
            ip("-n", ns, "addr", "add", f"{self.addr[side]}/24", "dev", dev)
            ip("-n", ns, "-6", "addr", "add", f"{self.addr6[side]}/64", "dev", dev, "nodad")
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", self.ns["a"], "route", "add", "default", "via", self.addr["b"])
        ip("-n", self.ns["a"], "route", "add", "192.0.2.0/24", "via", self.addr["b"],
           "metric", "7")
        return self

    def down(self) -> None:
        for side in "ab":
            ip("netns", "del", self.ns[side], check=False)

    def run(self, side: str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.ns[side], *argv],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def pings(self, src: str = "b", dst: str = "a", timeout_ms: int = 300) -> bool:
        """One ICMP echo from src to dst answered (fping: bounded, quiet)."""
        return self.run(src, "fping", "-c1", f"-t{timeout_ms}", "-q", self.addr[dst]).returncode \
            == 0

    def rtt_ms(self, src: str = "b", dst: str = "a", count: int = 3) -> float:
        out = self.run(src, "fping", "-C", str(count), "-q", "-p", "20", "-t", "2000",
                       self.addr[dst]).stderr
        values = [float(v) for v in out.split(":", 1)[1].split() if v != "-"]
        return min(values)

    def link_up(self, side: str = "a") -> bool:
        out = self.run(side, "cat", f"/sys/class/net/{self.dev[side]}/flags").stdout
        return bool(int(out.strip(), 16) & 1)

    def routes(self, side: str = "a") -> str:
        return self.run(side, "ip", "route", "show").stdout

    def inventory(self) -> Inventory:
        return Inventory.model_validate({
            "name": "netns-pair", "test_target": True,
            "nodes": [{"name": side, "roles": ["pair", f"side-{side}"],
                       "address": self.addr[side], "transport": "local",
                       "interfaces": {"mgmt": self.dev[side]}} for side in "ab"],
        })

    def context(self) -> RunContext:
        ctx = RunContext(self.inventory())
        ctx.shells = NetnsPool(ctx.inventory, self.ns)
        return ctx


class GuestPair(NetnsPair):
    """The namespace pair's interface, with side a a guest (over real SSH), b a namespace."""

    def __init__(self, workdir: Path, index: int = 0, guest: type[KernelGuest] = KernelGuest):
        """``index`` tells apart the guests one test boots at once (namespace, tap, subnet);
        ``guest`` is the kind booted (the systemd guest: systemd_guest.SystemdGuest)."""
        super().__init__()
        n = 10 + os.getpid() % 200
        self.subnet = f"10.{232 + index}.{n}"
        suffix = str(index) if index else ""
        self.ns = {"b": f"hat-{self.tag}-g{suffix}b"}
        self.dev = {"a": "mgmt0", "b": f"hat{self.tag}g{suffix}"}
        self.addr = {"a": f"{self.subnet}.1", "b": f"{self.subnet}.2"}
        self.guest = guest(workdir, self.ns["b"], self.dev["b"], self.addr["a"],
                           self.addr["b"])

    def up(self) -> GuestPair:
        self.down()
        ip("netns", "add", self.ns["b"])
        ip("-n", self.ns["b"], "link", "set", "lo", "up")
        try:
            self.guest.start()
        except BaseException:
            self.down()
            raise
        self.ctx = self.context()
        return self

    def down(self) -> None:
        if getattr(self, "ctx", None) is not None:
            self.ctx.close()
        self.guest.stop()
        ip("netns", "del", self.ns["b"], check=False)

    def run(self, side: str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess:
        if side == "b":
            return super().run(side, *argv, timeout=timeout)
        result = self.ctx.shell(side).run(list(argv), timeout=timeout)
        return subprocess.CompletedProcess(list(argv), result.rc, result.stdout, result.stderr)

    def inventory(self) -> Inventory:
        return Inventory.model_validate({
            "name": "kernel-guest", "test_target": True, "ssh": self.guest.ssh_settings(),
            "nodes": [self.guest.node("a")]})

    def context(self) -> RunContext:
        return RunContext(self.inventory())



@pytest.fixture
def pair():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    made = NetnsPair().up()
    ctx = made.context()
    made.ctx = ctx
    try:
        yield made
    finally:
        ctx.close()
        made.down()


def skip_without_a_guest(kind: str = "kernel guest", lacking=None) -> None:
    """Skip, saying why, where a guest cannot boot: not root, or ``lacking`` (the kernel
    guest's ``missing()`` by default) names what is not installed."""
    if os.geteuid() != 0:
        pytest.skip("a guest with a tap device needs root")
    lacking = missing() if lacking is None else lacking
    if lacking:
        pytest.skip(f"the {kind} needs {', '.join(lacking)} (./bootstrap.sh setup "
                    "installs them)")


@pytest.fixture(scope="module")
def guest_pair(tmp_path_factory):
    """A GuestPair for the module: one boot (about 10 s) serves all of its tests."""
    skip_without_a_guest()
    made = GuestPair(tmp_path_factory.mktemp("guest")).up()
    try:
        yield made
    finally:
        made.down()


@pytest.fixture
def two_guests(tmp_path):
    """Two GuestPairs, the nodes of one inventory (booted one after the other: two TCG boots
    at once on a loaded 2-core machine each took longer than their boot timeout)."""
    skip_without_a_guest()
    pairs = [GuestPair(tmp_path / f"guest{index}", index) for index in (0, 1)]
    for made in pairs:
        made.guest.dir.mkdir()
    try:
        for made in pairs:
            made.up()
        yield pairs
    finally:
        for made in pairs:
            made.down()


def local_inventory(**services) -> Inventory:
    return Inventory.model_validate({
        "name": "local", "test_target": True,
        "nodes": [{"name": "local", "roles": ["local"], "address": "127.0.0.1",
                   "transport": "local"}],
        "services": services,
    })


@pytest.fixture
def local_ctx():
    made: list[RunContext] = []

    def make(**services) -> RunContext:
        ctx = RunContext(local_inventory(**services))
        made.append(ctx)
        return ctx
    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture(autouse=True)
def private_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("HA_TESTS_STATE_DIR", str(tmp_path / "state"))
