"""vm-ping: ICMP echo to many targets at once, one echo per target per sample, no subprocesses.

Yardstick's ``ip-status`` forks ``ping -c 1`` per target per sample, so with 50 VMs and a
sub-second interval the monitor measures the fork rate. Here every probe opens ONE ICMP
socket, sends one echo request to each target, and collects the replies until the probe's
timeout (or until all answered). The socket is the kernel's unprivileged "ping" socket
(``SOCK_DGRAM, IPPROTO_ICMP``) when ``net.ipv4.ping_group_range`` allows it, else a raw socket
(root). Each probe has its own socket and echo identifier, so overlapping probes at
sub-second intervals never steal each other's replies.

With ``from: <node>`` the echoes leave from that node instead (a tenant-side vantage point):
one ``fping -c1 -t <ms>`` over the node's persistent SSH connection per probe, for all targets.

ok when every target answered (or at least ``min_reachable``); the detail names the ones
that did not; latency is the slowest answer's round trip.

Examples::

    - type: vm-ping
      vms: all                 # every VM in the inventory's lab.vms
      interval: 0.2
      timeout: 0.5
    - type: vm-ping
      targets: ["{vip:api}", 10.0.0.5]
      min_reachable: 1
    - type: vm-ping
      from: ctl1               # ping from a node, with fping
      vm_addresses: [192.168.10.5, 192.168.10.6]
"""

from __future__ import annotations

import ipaddress
import os
import re
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from ha_tests.errors import PreflightError, TransportError
from ha_tests.inventory import expand_addresses
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel

ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = 8, 0
ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY = 128, 129
PAYLOAD = b"ha-tests vm-ping"
#: how many unreachable targets the detail lists by name
MAX_LISTED = 50


class VmPingParams(StrictModel):
    targets: list[str] = Field([], description="addresses or host names; {vip:X}/{node:X} "
                                               "are expanded")
    vms: Literal["all"] | list[str] | None = Field(
        None, description="'all' or names of VMs from the inventory's lab.vms")
    vm_addresses: list[str] = Field([], description="more addresses (VMs outside the lab)")
    from_node: str | None = Field(None, alias="from",
                                  description="ping from this node with fping over SSH")
    min_reachable: int | None = Field(None, ge=0, description="ok with at least this many "
                                                              "answers (default: all)")
    socket: Literal["auto", "dgram", "raw"] = Field(
        "auto", description="ICMP socket kind (auto: unprivileged ping socket, else raw)")

    @model_validator(mode="after")
    def _has_targets(self):
        if not (self.targets or self.vms or self.vm_addresses):
            raise ValueError("vm-ping needs 'targets', 'vms' or 'vm_addresses'")
        return self


@dataclass(frozen=True)
class Target:
    label: str        # what the report shows: a VM name or the address as written
    address: str      # numeric address
    family: int


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo_request(family: int, ident: int, seq: int) -> bytes:
    kind = ICMP_ECHO_REQUEST if family == socket.AF_INET else ICMP6_ECHO_REQUEST
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if family == socket.AF_INET6:  # the kernel fills in the ICMPv6 checksum
        return header + PAYLOAD
    return struct.pack("!BBHHH", kind, 0, _checksum(header + PAYLOAD), ident, seq) + PAYLOAD


def open_icmp_socket(family: int, kind: str) -> tuple[socket.socket, str]:
    """An ICMP socket of the given family: ("dgram"|"raw") as asked, or the first that works."""
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    kinds = ["dgram", "raw"] if kind == "auto" else [kind]
    last: OSError | None = None
    for each in kinds:
        try:
            sock_type = socket.SOCK_DGRAM if each == "dgram" else socket.SOCK_RAW
            return socket.socket(family, sock_type, proto), each
        except OSError as exc:  # EACCES / EPERM: not allowed for this user
            last = exc
    raise PreflightError(f"cannot open an ICMP socket ({', '.join(kinds)}): "
                         f"{last.strerror if last else '?'}; run as root or widen "
                         "net.ipv4.ping_group_range")


class IcmpPinger:
    """One echo per target through one socket per family; thread-safe (state is per call)."""

    def __init__(self, kind: str = "auto"):
        self.kind = kind
        self._idents = iter(range(1 << 30))
        self._lock = threading.Lock()
        self.kinds: dict[int, str] = {}

    def _ident(self) -> int:
        with self._lock:
            return (os.getpid() + next(self._idents) * 7919) & 0xFFFF

    def ping(self, targets: list[Target], wait: float) -> dict[int, float | str]:
        """Index of target -> RTT in seconds, or an error text; absent = no answer in time."""
        results: dict[int, float | str] = {}
        socks: dict[int, socket.socket] = {}
        sent: dict[tuple[int, int], float] = {}   # (family, seq) -> send time
        by_seq: dict[tuple[int, int], int] = {}   # (family, seq) -> target index
        ident = self._ident()
        deadline = time.monotonic() + wait
        try:
            for family in {t.family for t in targets}:
                sock, kind = open_icmp_socket(family, self.kinds.get(family, self.kind))
                self.kinds[family] = kind
                sock.setblocking(False)
                with _suppress_oserror():
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                socks[family] = sock
            for index, target in enumerate(targets):
                seq = index & 0xFFFF
                sock = socks[target.family]
                try:
                    sock.sendto(_echo_request(target.family, ident, seq),
                                (target.address, 0))
                except OSError as exc:  # no route, link down, neighbour table full
                    results[index] = exc.strerror or str(exc)
                    continue
                sent[(target.family, seq)] = time.monotonic()
                by_seq[(target.family, seq)] = index
            pending = len(sent)
            while pending and (remaining := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select(list(socks.values()), [], [], remaining)
                now = time.monotonic()
                for sock in ready:
                    family = sock.family
                    while True:
                        try:
                            data, peer = sock.recvfrom(4096)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            break
                        seq = self._match(family, self.kinds[family], data, ident)
                        if seq is None:
                            continue
                        index = by_seq.get((family, seq))
                        if index is None or index in results:
                            continue
                        if _same_address(peer[0], targets[index].address):
                            results[index] = now - sent[(family, seq)]
                            pending -= 1
        finally:
            for sock in socks.values():
                sock.close()
        return results

    @staticmethod
    def _match(family: int, kind: str, data: bytes, ident: int) -> int | None:
        """The echo reply's sequence number if it answers this probe, else None."""
        if family == socket.AF_INET and kind == "raw":
            if len(data) < 20:
                return None
            data = data[(data[0] & 0x0F) * 4:]  # raw IPv4 sockets deliver the IP header
        if len(data) < 8:
            return None
        kind_code, _code, _sum, reply_ident, seq = struct.unpack("!BBHHH", data[:8])
        wanted = ICMP_ECHO_REPLY if family == socket.AF_INET else ICMP6_ECHO_REPLY
        if kind_code != wanted:
            return None
        # ping (dgram) sockets rewrite the identifier and deliver only their own replies
        if kind == "raw" and reply_ident != ident:
            return None
        return seq


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.split("%")[0]) == ipaddress.ip_address(b.split("%")[0])
    except ValueError:
        return a == b


class _suppress_oserror:
    def __enter__(self):
        return self

    def __exit__(self, kind, _value, _tb):
        return kind is not None and issubclass(kind, OSError)


def _resolve(text: str) -> tuple[str, int]:
    try:
        address = ipaddress.ip_address(text)
        return str(address), socket.AF_INET if address.version == 4 else socket.AF_INET6
    except ValueError:
        pass
    try:
        info = socket.getaddrinfo(text, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise PreflightError(f"vm-ping: cannot resolve '{text}': {exc.strerror}") from None
    family, *_rest, sockaddr = info[0]
    return sockaddr[0], family


FPING_LINE = re.compile(r"^(\S+)\s*:\s*xmt/rcv/%loss = (\d+)/(\d+)/\d+%"
                        r"(?:.*min/avg/max = [\d.]+/([\d.]+)/[\d.]+)?")


class VmPingMonitor(Monitor):
    Params = VmPingParams

    def setup(self) -> None:
        inventory = self.ctx.inventory
        labels: list[tuple[str, str]] = []
        for text in self.params.targets:
            expanded = expand_addresses(text, inventory)
            labels.append((text if expanded == text else f"{text}={expanded}", expanded))
        for text in self.params.vm_addresses:
            labels.append((text, text))
        if self.params.vms is not None:
            known = list(inventory.lab.vms) if inventory.lab else []
            if not known:
                raise PreflightError(f"{self.name}: 'vms' needs VMs in the inventory's "
                                     "lab.vms; give their addresses as 'vm_addresses'")
            if self.params.vms == "all":
                chosen = known
            else:
                by_name = {vm.name: vm for vm in known}
                missing = [n for n in self.params.vms if n not in by_name]
                if missing:
                    raise PreflightError(f"{self.name}: no VM named {', '.join(missing)} in "
                                         "lab.vms (known: "
                                         + ", ".join(sorted(by_name)) + ")")
                chosen = [by_name[n] for n in self.params.vms]
            labels.extend((vm.name, vm.address) for vm in chosen)
        self.targets = []
        for label, text in labels:
            address, family = _resolve(text)
            self.targets.append(Target(label, address, family))
        self.min_reachable = (len(self.targets) if self.params.min_reachable is None
                              else self.params.min_reachable)
        if self.min_reachable > len(self.targets):
            raise PreflightError(f"{self.name}: min_reachable {self.min_reachable} > "
                                 f"{len(self.targets)} targets")
        self.source = None
        if self.params.from_node:
            self.source = inventory.node(self.params.from_node)
            try:
                found = self.ctx.shell(self.source).run(["sh", "-c", "command -v fping"],
                                                        timeout=10)
            except TransportError as exc:
                raise PreflightError(f"{self.name}: cannot reach {self.source.name}: "
                                     f"{exc}") from None
            if not found.ok:
                raise PreflightError(f"{self.name}: fping is not installed on "
                                     f"{self.source.name} (needed by 'from:')")
        else:
            self.pinger = IcmpPinger(self.params.socket)
            for family in {t.family for t in self.targets}:  # fail now, not at every sample
                sock, kind = open_icmp_socket(family, self.params.socket)
                sock.close()
                self.pinger.kinds[family] = kind

    def _wait(self) -> float:
        """Collect answers for most of the probe's timeout, returning before the runner
        would record the sample as a timeout."""
        return max(0.01, self.timeout - min(0.05, self.timeout * 0.1))

    def probe(self) -> ProbeResult:
        if self.source is not None:
            rtts = self._fping()
        else:
            rtts = self.pinger.ping(self.targets, self._wait())
        answered = {i: r for i, r in rtts.items() if isinstance(r, float)}
        unreachable = [t.label for i, t in enumerate(self.targets) if i not in answered]
        errors = {self.targets[i].label: r for i, r in rtts.items() if isinstance(r, str)}
        ok = len(answered) >= self.min_reachable
        detail: dict = {"reachable": len(answered), "total": len(self.targets)}
        if unreachable:
            detail["unreachable"] = unreachable[:MAX_LISTED]
            if len(unreachable) > MAX_LISTED:
                detail["unreachable_more"] = len(unreachable) - MAX_LISTED
        if errors:
            detail["errors"] = dict(list(errors.items())[:10])
        latency = max(answered.values()) if answered else None
        if latency is not None:
            detail["max_rtt_ms"] = round(latency * 1000, 3)
        return ProbeResult(ok, latency, detail)

    def _fping(self) -> dict[int, float | str]:
        wait = self._wait()
        # fping waits -t ms for the reply; leave room for the SSH round trip
        budget_ms = max(10, int((wait - min(0.2, wait / 3)) * 1000))
        argv = ["fping", "-c1", "-t", str(budget_ms), "-q",
                *[t.address for t in self.targets]]
        result = self.ctx.shell(self.source).run(argv, timeout=wait)
        if result.rc not in (0, 1):  # 1 = some unreachable; anything else is fping's trouble
            raise TransportError(f"fping on {self.source.name} failed (exit {result.rc}): "
                                 + (result.stderr.strip().splitlines() or [""])[-1][:200])
        index_of = {t.address: i for i, t in enumerate(self.targets)}
        found: dict[int, float | str] = {}
        for line in (result.stderr + "\n" + result.stdout).splitlines():
            match = FPING_LINE.match(line.strip())
            if not match or match.group(1) not in index_of:
                continue
            if int(match.group(3)) > 0:
                found[index_of[match.group(1)]] = float(match.group(4) or 0) / 1000
        return found

    def describe(self) -> str:
        where = f" from {self.params.from_node}" if self.params.from_node else ""
        count = len(getattr(self, "targets", [])) or "?"
        return f"{self.name}: ICMP to {count} targets{where}"
