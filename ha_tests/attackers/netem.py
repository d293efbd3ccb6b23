"""netem: a bad network instead of no network — delay, jitter, loss, corruption, duplicates.

HA stacks are tuned for clean failures; a link that is slow or lossy but alive is what makes
keepalived flap, Galera stall and RabbitMQ partition. This adds a netem qdisc as the root of
the interface (egress of the target node) with a handle derived from this run's id, and
removes it only if it is still that one. A node-side dead-man timer removes it after
``duration`` seconds without the runner. On the interface that carries the runner's own SSH
session the timer adds the qdisc too, once told to go (as block-nic takes its link down):
with 100 % loss there the reply to a ``tc`` command would never come back, and the runner
then waits for the timer instead of failing the inject.

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
from typing_extensions import TypedDict

from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
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


#: prelude of the timer on an SSH-carrying interface: add netem ($1 interface, $2 handle,
#: the rest netem's words), then leave $1 $2 for HEAL
ADD = r"""
_if=$1; _handle=$2; shift 2
tc qdisc add dev "$_if" root handle "$_handle:" netem "$@" || exit 1
set -- "$_if" "$_handle"
"""

#: exit 0 when interface $1 holds the node-side address of this very SSH session
CARRIES_SSH = r"""
set -- "$1" $SSH_CONNECTION
[ -n "$4" ] || exit 1
ip -o addr show dev "$1" 2>/dev/null | grep -qF " $4/"
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


class NetemOn(TypedDict):
    """One node's netem qdisc: where, and when its timer removes it."""

    interface: str
    armed_wall: float
    duration: float
    carries_ssh: bool


class NetemState(AttackerState):
    #: tags this attacker's dead-man timers
    ident: str = ""
    #: the qdisc handle (derived from the ident when the attacker was made)
    handle: str = ""
    #: node name -> its qdisc (recorded before it is added)
    done: dict[str, NetemOn] = {}


class Netem(Attacker):
    Params = NetemParams
    State = NetemState
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
            carries_ssh = shell.run(script(CARRIES_SSH, name), timeout=10).rc == 0
            self.done[node.name] = {"interface": name, "armed_wall": time.time(),
                                    "duration": seconds, "carries_ssh": carries_ssh}
            self.checkpoint()
            if carries_ssh:
                deadman.arm(shell, KIND, self.ident, seconds, HEAL, name, self.handle,
                            *self.netem_args(), prelude=deadman.WAIT_FOR_GO + ADD)
                deadman.go(shell, KIND, self.ident)
                continue
            deadman.arm(shell, KIND, self.ident, seconds, HEAL, name, self.handle)
            added = shell.run(["tc", "qdisc", "add", "dev", name, "root", "handle",
                               f"{self.handle}:", "netem", *self.netem_args()], timeout=10)
            if "kind is unknown" in added.stderr:
                raise TransportError(f"{node.name}: the kernel has no netem (sch_netem); "
                                     "load it with 'modprobe sch_netem'")
            added.check(f"{node.name}: tc qdisc add ... netem")
            deadman.check_armed(shell, KIND, self.ident, script(HEAL, name, self.handle),
                                seconds)
        for node in self.nodes:
            if self.done[node.name]["carries_ssh"]:
                self._check_added_by_timer(node)
        return {"netem": " ".join(self.netem_args()), "handle": f"{self.handle}:",
                "interfaces": {k: v["interface"] for k, v in self.done.items()},
                "duration": seconds,
                "cuts_ssh": [k for k, v in self.done.items() if v["carries_ssh"]]}

    def _check_added_by_timer(self, node: Node) -> None:
        """The timer's qdisc is there, if the node can still say so (at 100 % loss it can't)."""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                shown = self._qdiscs(node, timeout=2)
            except TransportError:
                return  # the session is cut: the fault is in place, the timer will end it
            if f"qdisc netem {self.handle}:" in shown:
                return
            time.sleep(0.1)
        raise TransportError(f"{node.name}: the timer did not add netem on "
                             f"{self.done[node.name]['interface']} (no sch_netem in the "
                             "kernel? 'modprobe sch_netem' there says)")

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

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "done" in missing:
            self.done = {n.name: {"interface": self.interface_on(n), "armed_wall": 0,
                                  "duration": 0, "carries_ssh": False} for n in self.nodes}

    def describe(self) -> str:
        return (f"{self.name}: netem {' '.join(self.netem_args())} on {self.params.interface} "
                "of " + ", ".join(n.name for n in self.nodes))
