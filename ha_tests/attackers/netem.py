"""netem: a bad network instead of no network — delay, jitter, loss, corruption, duplicates.

HA stacks are tuned for clean failures; a link that is slow or lossy but alive is what makes
keepalived flap, Galera stall and RabbitMQ partition. This adds a netem qdisc as the root of
the interface (egress of the target node) with a handle derived from this run's id, and
removes it only if it is still that one. A node-side dead-man timer removes it after
``duration`` seconds without the runner; 100 % loss on the SSH interface is then survivable.

Example::

    - type: netem
      target: victim
      interface: mgmt            # logical name from the node's interfaces: map, or eth0
      delay_ms: 200
      jitter_ms: 50
      loss_percent: 5
      duration: 30
    timing:
      fault_duration: 30
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field, model_validator

from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker
from ha_tests.attackers.block_nic import BlockNicParams
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.inventory import Node
from ha_tests.transport import script

KIND = "netem"

#: delete the root qdisc of $1 only while it is our netem (handle $2)
HEAL = r"""
if tc qdisc show dev "$1" root 2>/dev/null | grep -q "^qdisc netem $2: "; then
  tc qdisc del dev "$1" root
fi
exit 0
"""


class NetemParams(BlockNicParams):
    delay_ms: float = Field(0, ge=0, le=60000)
    jitter_ms: float = Field(0, ge=0, le=60000)
    loss_percent: float = Field(0, ge=0, le=100)
    corrupt_percent: float = Field(0, ge=0, le=100)
    duplicate_percent: float = Field(0, ge=0, le=100)
    reorder_percent: float = Field(0, ge=0, le=100, description="needs delay_ms")

    @model_validator(mode="after")
    def _some_effect(self):
        if not any((self.delay_ms, self.loss_percent, self.corrupt_percent,
                    self.duplicate_percent)):
            raise ValueError("netem needs delay_ms, loss_percent, corrupt_percent or "
                             "duplicate_percent")
        if self.jitter_ms and not self.delay_ms:
            raise ValueError("jitter_ms needs delay_ms")
        if self.reorder_percent and not self.delay_ms:
            raise ValueError("reorder_percent needs delay_ms")
        return self


class Netem(Attacker):
    Params = NetemParams
    self_healing = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ident = deadman.new_id()
        self.handle = f"{0x1000 + int(self.ident, 16) % 0xe000:x}"
        self.done: dict[str, dict[str, Any]] = {}

    @property
    def duration(self) -> float:
        return deadman.fault_seconds(self, self.params.duration)

    def interface_on(self, node: Node) -> str:
        return node.interfaces.get(self.params.interface, self.params.interface)

    def netem_args(self) -> list[str]:
        p = self.params
        args: list[str] = []
        if p.delay_ms:
            args += ["delay", f"{p.delay_ms:g}ms"]
            if p.jitter_ms:
                args += [f"{p.jitter_ms:g}ms"]
        for word, value in (("loss", p.loss_percent), ("corrupt", p.corrupt_percent),
                            ("duplicate", p.duplicate_percent), ("reorder", p.reorder_percent)):
            if value:
                args += [word, f"{value:g}%"]
        return args

    def _qdiscs(self, node: Node, timeout: float = 10) -> str:
        result = self.ctx.shell(node).run(["tc", "qdisc", "show", "dev",
                                           self.interface_on(node)], timeout=timeout)
        return result.check(f"{node.name}: tc qdisc show").stdout

    def preflight(self) -> None:
        self.duration  # noqa: B018 - raises PreflightError when nothing says how long
        for node in self.nodes:
            try:
                shown = self._qdiscs(node)
            except TransportError as exc:
                raise PreflightError(f"{self.name}: cannot read qdiscs of "
                                     f"{self.interface_on(node)} on {node.name}: {exc}") \
                    from None
            if "qdisc netem" in shown:
                raise PreflightError(f"{self.name}: {self.interface_on(node)} on {node.name} "
                                     "already has a netem qdisc (left by someone?)")

    def inject(self) -> dict[str, Any]:
        seconds = self.duration
        for node in self.nodes:
            shell = self.ctx.shell(node)
            name = self.interface_on(node)
            self.done[node.name] = {"interface": name, "armed_wall": time.time(),
                                    "duration": seconds}
            deadman.arm(shell, KIND, self.ident, seconds, HEAL, name, self.handle)
            added = shell.run(["tc", "qdisc", "add", "dev", name, "root", "handle",
                               f"{self.handle}:", "netem", *self.netem_args()], timeout=10)
            if "kind is unknown" in added.stderr:
                raise TransportError(f"{node.name}: the kernel has no netem (sch_netem); "
                                     "load it with 'modprobe sch_netem'")
            added.check(f"{node.name}: tc qdisc add ... netem")
            deadman.check_armed(shell, KIND, self.ident, script(HEAL, name, self.handle),
                                seconds)
        return {"netem": " ".join(self.netem_args()), "handle": f"{self.handle}:",
                "interfaces": {k: v["interface"] for k, v in self.done.items()},
                "duration": seconds}

    def rollback(self) -> dict[str, Any]:
        report = {}
        for node in self.nodes:
            info = self.done.get(node.name)
            if info is None:
                continue
            shell = self.ctx.shell(node)
            argv = script(HEAL, info["interface"], self.handle)
            try:
                shell.run(argv, timeout=5).check()
            except TransportError:
                shell.close()  # heavy loss on the SSH path: the timer heals it
                due = time.monotonic() + max(0.0, info["armed_wall"] + info["duration"]
                                             - time.time())
                if not deadman.wait_reachable(shell, due + self.params.back_timeout):
                    raise RollbackError(f"{self.name}: {node.name} unreachable after its "
                                        "timer was due") from None
                shell.run(argv, timeout=10).check()
            deadman.disarm(shell, KIND, self.ident)
            report[node.name] = "netem removed"
        return {"removed": report}

    def verify(self) -> None:
        for node in self.nodes:
            if node.name in self.done and "qdisc netem" in self._qdiscs(node):
                raise RollbackError(f"{self.name}: a netem qdisc remains on "
                                    f"{self.interface_on(node)} of {node.name}")

    def ledger_state(self) -> dict[str, Any]:
        return {"ident": self.ident, "handle": self.handle, "done": self.done}

    def restore_state(self, state: dict[str, Any]) -> None:
        self.ident = state.get("ident", self.ident)
        self.handle = state.get("handle", self.handle)
        self.done = {k: dict(v) for k, v in state.get("done", {}).items()}

    def describe(self) -> str:
        return (f"{self.name}: netem {' '.join(self.netem_args())} on {self.params.interface} "
                "of " + ", ".join(n.name for n in self.nodes))
