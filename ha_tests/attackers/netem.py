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

#: the apply of the round trip (deadman.arm_apply) where the reply can come back: add netem
#: ($1 interface, $2 handle, the rest netem's words)
_ADD_NOW = r"""
_if=$1; _h=$2; shift 2
_err=$(tc qdisc add dev "$_if" root handle "$_h:" netem "$@" 2>&1) && exit 0
case $_err in
  *"kind is unknown"*)
    echo "the kernel has no netem (sch_netem); load it with 'modprobe sch_netem'" >&2 ;;
  *) echo "tc qdisc add ... netem: $_err" >&2 ;;
esac
exit 1
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
        #: node name -> whether the interface carries the runner's SSH session (preflight)
        self.carries_ssh: dict[str, bool] = {}

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

    def _carries_ssh(self, node: Node) -> bool:
        shell = self.ctx.shell(node)
        return shell.run(script(CARRIES_SSH, self.interface_on(node)), timeout=10).rc == 0

    def preflight(self) -> None:
        self.duration  # noqa: B018 - raises PreflightError when nothing says how long
        for node in self.nodes:
            try:
                shown = self._qdiscs(node)
                self.carries_ssh[node.name] = self._carries_ssh(node)
            except TransportError as exc:
                raise PreflightError(f"{self.name}: cannot read qdiscs of "
                                     f"{self.interface_on(node)} on {node.name}: {exc}") \
                    from None
            if "qdisc netem" in shown:
                raise PreflightError(f"{self.name}: {self.interface_on(node)} on {node.name} "
                                     "already has a netem qdisc (left by someone?)")

    def inject(self) -> dict[str, Any]:
        seconds = self.duration
        self.on_each(self.nodes, lambda node: self._add(node, seconds))
        for node in self.nodes:
            if self.done[node.name]["carries_ssh"]:
                self._check_added_by_timer(node)
        return {"netem": " ".join(self.netem_args()), "handle": f"{self.handle}:",
                "interfaces": {k: v["interface"] for k, v in self.done.items()},
                "duration": seconds,
                "cuts_ssh": [k for k, v in self.done.items() if v["carries_ssh"]]}

    def _add(self, node: Node, seconds: float) -> None:
        """Arm, add and check in one round trip (whether the interface carries this
        session was seen in preflight). On that interface the timer adds the qdisc once
        told to go: at 100 % loss the reply to a ``tc`` would never come back."""
        shell = self.ctx.shell(node)
        name = self.interface_on(node)
        carries_ssh = self.carries_ssh.get(node.name)
        if carries_ssh is None:
            carries_ssh = self._carries_ssh(node)
        with self.ledger_lock:
            self.done[node.name] = {"interface": name, "armed_wall": time.time(),
                                    "duration": seconds, "carries_ssh": carries_ssh}
            self.checkpoint()
        if carries_ssh:
            applied = deadman.arm_apply(shell, KIND, self.ident, seconds, HEAL,
                                        [name, self.handle, *self.netem_args()],
                                        'kill -s USR1 "$_tpid"', prelude=ADD, go=True)
        else:
            applied = deadman.arm_apply(shell, KIND, self.ident, seconds, HEAL,
                                        [name, self.handle], _ADD_NOW,
                                        [name, self.handle, *self.netem_args()])
        self.note_fault(node.name, applied)

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
        nodes = [n for n in self.nodes if n.name in self.done]
        return {"removed": dict(zip([n.name for n in nodes],
                                    self.on_each(nodes, self._remove), strict=True))}

    def _remove(self, node: Node) -> str:
        info = self.done[node.name]
        shell = self.ctx.shell(node)
        try:
            deadman.heal_disarm(shell, KIND, self.ident, HEAL, info["interface"],
                                self.handle, timeout=5).check()
        except TransportError:
            shell.close()  # heavy loss on the SSH path: the timer heals it
            due = time.monotonic() + max(0.0, info["armed_wall"] + info["duration"]
                                         - time.time())
            if not deadman.wait_reachable(shell, due + self.params.back_timeout):
                raise RollbackError(f"{self.name}: {node.name} unreachable after its "
                                    "timer was due") from None
            deadman.heal_disarm(shell, KIND, self.ident, HEAL, info["interface"],
                                self.handle, timeout=10).check()
        return "netem removed"

    def verify(self) -> None:
        nodes = [n for n in self.nodes if n.name in self.done]
        for node, shown in zip(nodes, self.on_each(nodes, self._qdiscs), strict=True):
            if "qdisc netem" in shown:
                raise RollbackError(f"{self.name}: a netem qdisc remains on "
                                    f"{self.interface_on(node)} of {node.name}")

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "done" in missing:
            self.done = {n.name: {"interface": self.interface_on(n), "armed_wall": 0,
                                  "duration": 0, "carries_ssh": False} for n in self.nodes}

    def describe(self) -> str:
        return (f"{self.name}: netem {' '.join(self.netem_args())} on {self.params.interface} "
                "of " + ", ".join(n.name for n in self.nodes))
