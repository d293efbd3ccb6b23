"""Light nodes for fan-out at scale: N nodes that are each a network namespace, a PID
namespace and a real OpenSSH server, on one bridge, with an inventory that reaches them.

``lab up --computes`` stops at 70 (its address plan) and each lab compute is a whole node (its
own init, supervisor and a "VM"): 200 of them would not fit beside four other engineers. A
node-side attacker needs only what is here: a shell over SSH, its own firewall, links and
qdiscs (the network namespace) and its own processes (the PID namespace, so one node's timer
listing never sees another's). What one costs is measured and printed (``cost()``).

    sudo .venv/bin/python -m benchmarks.light_nodes up --count 200   # or: down
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ipaddress
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from ha_tests.lab.sshd import SSHD, make_key

DIR = Path("/var/tmp/ha-tests-light")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


@dataclass
class LightNodes:
    """``count`` nodes ``<prefix><i>`` on bridge ``<prefix>br``, addresses from ``cidr``."""

    count: int
    prefix: str = "hfl"
    cidr: str = "10.164.0.0/16"

    @property
    def dir(self) -> Path:
        return DIR / self.prefix

    @property
    def inventory_path(self) -> Path:
        return self.dir / "inventory.yaml"

    def names(self) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(self.count)]

    def addresses(self) -> tuple[str, list[str]]:
        hosts = ipaddress.ip_network(self.cidr).hosts()
        host = str(next(hosts))
        return host, [str(next(hosts)) for _ in range(self.count)]

    def up(self) -> None:
        self.down()
        self.dir.mkdir(parents=True, exist_ok=True)
        key = self.dir / "id_ed25519"
        make_key(key, "ha-tests-light")
        host_key = self.dir / "ssh_host_ed25519_key"
        host_pub = make_key(host_key, "ha-tests-light-host")
        shutil.copy(f"{key}.pub", self.dir / "authorized_keys")
        (self.dir / "sshd_config").write_text(
            f"Port 22\nListenAddress 0.0.0.0\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\n"
            "UseDNS no\nPrintMotd no\nMaxSessions 50\n")
        host, addresses = self.addresses()
        prefix_len = ipaddress.ip_network(self.cidr).prefixlen
        bridge = f"{self.prefix}br"
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{host}/{prefix_len}", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for name, address in zip(self.names(), addresses, strict=True):
            _ip("netns", "add", name)
            _ip("link", "add", f"{name}h", "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("link", "set", f"{name}h", "master", bridge, "up")
            _ip("-n", name, "addr", "add", f"{address}/{prefix_len}", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
            _ip("-n", name, "link", "add", "spare0", "type", "veth", "peer", "name",
                "spare1")  # for block-nic (this kernel has no dummy links)
            _ip("-n", name, "link", "set", "spare0", "up")
            _ip("-n", name, "link", "set", "spare1", "up")
            subprocess.Popen(["ip", "netns", "exec", name, "unshare", "--pid", "--fork",
                              "--mount-proc", "--kill-child", SSHD, "-D", "-e", "-f",
                              str(self.dir / "sshd_config")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        (self.dir / "known_hosts").write_text("".join(f"{a} {host_pub}\n" for a in addresses))
        self.inventory_path.write_text(yaml.safe_dump({
            "name": f"light-{self.prefix}", "test_target": True,
            "ssh": {"user": "root", "key_file": str(key),
                    "known_hosts": str(self.dir / "known_hosts")},
            "nodes": [{"name": n, "roles": ["light"], "address": a,
                       "interfaces": {"mgmt": "eth0", "spare": "spare0"}}
                      for n, a in zip(self.names(), addresses, strict=True)]}))
        self._wait_sshd(addresses)

    def _wait_sshd(self, addresses: list[str], seconds: float = 120) -> None:
        import socket

        def answers(address: str) -> None:
            deadline = time.monotonic() + seconds
            while True:
                try:
                    with socket.create_connection((address, 22), timeout=1) as sock:
                        if sock.recv(4).startswith(b"SSH"):
                            return
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sshd on {address} does not answer")
                time.sleep(0.2)

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(answers, addresses))

    def sshd_pids(self) -> list[int]:
        """Every process of the light nodes (their sshd and sessions), from the host."""
        pids = []
        for name in self.names():
            found = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                   text=True, check=False).stdout.split()
            pids += [int(p) for p in found]
        return pids

    def cost(self) -> dict[str, float]:
        """Memory per node (KiB of RSS summed over its processes, sessions included)."""
        pids = self.sshd_pids()
        rss = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            except OSError:
                continue
        return {"processes": len(pids), "rss_kib": rss,
                "rss_kib_per_node": rss / self.count if self.count else 0.0}

    def down(self) -> None:
        for name in [n for n in _ip("netns", "list").stdout.split() if self._mine(n)]:
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                      text=True, check=False).stdout.split():
                subprocess.run(["kill", "-KILL", pid], check=False, capture_output=True)
            _ip("netns", "del", name, check=False)
        _ip("link", "del", f"{self.prefix}br", check=False)

    def _mine(self, netns: str) -> bool:
        rest = netns[len(self.prefix):]
        return netns.startswith(self.prefix) and rest.isdigit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--prefix", default="hfl")
    parser.add_argument("--cidr", default="10.164.0.0/16")
    args = parser.parse_args(argv)
    nodes = LightNodes(args.count, args.prefix, args.cidr)
    if args.action == "up":
        started = time.monotonic()
        nodes.up()
        print(f"{args.count} light nodes up in {time.monotonic() - started:.1f} s: "
              f"{nodes.cost()}; inventory {nodes.inventory_path}")
    else:
        nodes.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
