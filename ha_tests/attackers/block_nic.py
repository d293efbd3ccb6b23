"""block-nic: take a network interface down on the target nodes; the node brings it back.

Yardstick's close-interface (tc050) runs ``ifconfig br-mgmt down`` over the very SSH session
that runs over br-mgmt, then tries to bring it up over that same, now dead, session. Here the
link is taken down by a dead-man timer on the node (ha_tests.attackers.deadman), in its own
session: armed first, then told to go, it takes the link down, sleeps ``duration`` seconds
and brings it back, whatever happens to the runner. The routes and IPv6 addresses the
kernel drops with the link (the default gateway, static routes) are recorded before and
restored with the link; Yardstick leaves a node without its default route.

When the interface carries the runner's SSH session, the runner cannot see the fault from
inside: rollback tries ``ip link set up`` over SSH, and when the node does not answer it
waits for the timer and for SSH to come back, then checks the link is up. So a scenario
holds the fault for about as long as the attacker lasts::

    targets:
      victim: {role: controller, pick: one}
    attackers:
      - type: block-nic
        target: victim
        interface: mgmt          # logical name from the node's interfaces: map, or br-mgmt
        duration: 10             # the node restores the link after 10 s, runner or not
    timing:
      fault_duration: 10         # ≈ duration: rollback comes when the timer fires
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field, field_validator
from typing_extensions import TypedDict

from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.inventory import Node
from ha_tests.transport import script
from ha_tests.validation import StrictModel

KIND = "block-nic"

#: bring the link up and put back what the kernel dropped with it ($1 = interface, then
#: items "family|route-or-addr|spec" recorded before the fault)
RESTORE = r"""
dev=$1; shift
ip link set dev "$dev" up || exit 1
set -f
for item in "$@"; do
  fam=${item%%|*}; rest=${item#*|}; what=${rest%%|*}; spec=${rest#*|}
  ip "-$fam" "$what" replace $spec dev "$dev" >/dev/null 2>&1 || true
done
"""

#: flags of the interface (hex; IFF_UP = 0x1)
_STATE = r"""
read -r flags < "/sys/class/net/$1/flags" || exit 3
echo "$flags"
"""

#: routes and addresses of the interface, tagged "family|kind|" for RESTORE
_SNAPSHOT = r"""
[ -e "/sys/class/net/$1" ] || { echo "no interface $1" >&2; exit 3; }
ip -4 route show dev "$1" | sed 's/^/4|route|/'
ip -6 route show dev "$1" | sed 's/^/6|route|/'
ip -6 -o addr show dev "$1" scope global permanent | sed 's/^/6|addr|/'
ip -o addr show dev "$1" | sed 's/^/addr|/'
"""

#: a beat after go's answer has left, as the link may carry it
_DOWN = 'sleep 0.1; ip link set dev "$1" down || exit 1'

#: the apply of the round trip (deadman.arm_apply): tell the timer to go and, unless the
#: link carries this very session ($1 = wait), see the link ($2) go down
_GO = r"""
kill -s USR1 "$_tpid" || exit 5
[ "$1" = wait ] || exit 0
_n=0
while :; do
  read -r _fl < "/sys/class/net/$2/flags" || exit 3
  [ $((_fl & 1)) = 0 ] && exit 0
  _n=$((_n + 1))
  [ "$_n" -lt 250 ] || { echo "$2 did not go down" >&2; exit 6; }
  sleep 0.02
done
"""


def _restorable(line: str) -> str | None:
    """One snapshot line as a RESTORE item, or None for what the kernel restores itself."""
    fam, what, spec = line.split("|", 2)
    words = spec.split()
    if what == "route":
        proto = words[words.index("proto") + 1] if "proto" in words[:-1] else None
        if not words or proto == "kernel" or words[0].startswith(("fe80:", "multicast")):
            return None
        return f"{fam}|route|{' '.join(words)}"
    if what == "addr" and "inet6" in words:
        address = words[words.index("inet6") + 1]
        return f"6|addr|{address}"
    return None


def _route_key(item: str) -> tuple[str, ...]:
    """What makes a restored route or address the same one: family, kind, destination and
    gateway (the kernel may print its flags, metrics' order or expiry differently)."""
    fam, what, spec = item.split("|", 2)
    words = spec.split()
    via = words[words.index("via") + 1] if "via" in words[:-1] else ""
    return fam, what, words[0] if words else "", via


class LinkDown(TypedDict):
    """One node's link taken down: what to put back and when its timer does it."""

    interface: str
    #: routes to restore (``_restorable`` lines)
    restore: list[str]
    armed_wall: float
    duration: float
    carries_ssh: bool


class BlockNicState(AttackerState):
    #: tags this attacker's dead-man timers
    ident: str = ""
    #: node name -> its link taken down (recorded before the link goes)
    done: dict[str, LinkDown] = {}


class BlockNicParams(StrictModel):
    interface: str = Field(description="interface name, or a logical name from the node's "
                                        "interfaces: map (mgmt -> br-mgmt)")
    duration: float | None = Field(None, gt=0, le=3600,
                                   description="seconds until the node restores the link by "
                                               "itself; default: the scenario's fault hold")
    back_timeout: float = Field(60.0, gt=0, le=1800,
                                description="seconds after the timer to wait for the node to "
                                            "answer SSH again")

    @field_validator("interface")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or len(value) > 64 or any(c.isspace() or c in "/\0" for c in value) \
                or value in (".", ".."):
            raise ValueError(f"{value!r} is not an interface name")
        return value


class BlockNic(Attacker):
    Params = BlockNicParams
    State = BlockNicState
    self_healing = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ident = deadman.new_id()
        #: node name -> {"interface", "restore", "armed_wall", "duration", "carries_ssh"}
        self.done: dict[str, dict[str, Any]] = {}

    def interface_on(self, node: Node) -> str:
        return node.interfaces.get(self.params.interface, self.params.interface)

    @property
    def duration(self) -> float:
        return deadman.fault_seconds(self, self.params.duration)

    def _flags(self, node: Node, timeout: float = 10.0) -> int:
        result = self.ctx.shell(node).run(script(_STATE, self.interface_on(node)),
                                          timeout=timeout)
        result.check(f"{node.name}: reading interface {self.interface_on(node)}")
        return int(result.stdout.split()[0], 16)

    def preflight(self) -> None:
        self.duration  # noqa: B018 - raises PreflightError when nothing says how long
        for node in self.nodes:
            name = self.interface_on(node)
            try:
                flags = self._flags(node)
            except TransportError as exc:
                raise PreflightError(f"{self.name}: no interface {name!r} on {node.name} "
                                     f"({exc})") from None
            if not flags & 1:
                raise PreflightError(f"{self.name}: {name} on {node.name} is already down; "
                                     "refusing to bring up an interface someone keeps down")

    def inject(self) -> dict[str, Any]:
        seconds = self.duration
        self.on_each(self.nodes, lambda node: self._take_down(node, seconds))
        self.ctx.emit("attack-note", attacker=self.name, note="interfaces down",
                      nodes=list(self.done))
        return {"interfaces": {k: v["interface"] for k, v in self.done.items()},
                "restores": {k: v["restore"] for k, v in self.done.items()},
                "duration": seconds, "tag": deadman.tag(KIND, self.ident),
                "cuts_ssh": [k for k, v in self.done.items() if v["carries_ssh"]]}

    def _take_down(self, node: Node, seconds: float) -> None:
        """Read what to restore (the ledger holds it before the link goes), then arm the
        timer, tell it to go and see the link down in one round trip."""
        shell = self.ctx.shell(node)
        name = self.interface_on(node)
        snapshot = shell.run(script(_SNAPSHOT, name), timeout=10)
        snapshot.check(f"{node.name}: reading routes of {name}")
        lines = snapshot.stdout.splitlines()
        items = [item for line in lines if not line.startswith("addr|")
                 if (item := _restorable(line))]
        carries_ssh = node.transport == "ssh" and any(
            f" {node.address}/" in line for line in lines if line.startswith("addr|"))
        with self.ledger_lock:
            self.done[node.name] = {"interface": name, "restore": items,
                                    "armed_wall": time.time(), "duration": seconds,
                                    "carries_ssh": carries_ssh}
            self.checkpoint()  # the routes to put back are in the ledger before the link goes
        # the timer itself takes the link down once told to go: the link is never down
        # without the timer that brings it back, and the timer is known to run before
        applied = deadman.arm_apply(shell, KIND, self.ident, seconds, RESTORE, [name, *items],
                                    _GO, ["go" if carries_ssh else "wait", name],
                                    prelude=_DOWN, go=True, timeout=deadman.ARM_TIMEOUT + 15)
        self.note_fault(node.name, applied)

    def _wait_flags(self, node: Node, up: bool, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if bool(self._flags(node, timeout=3) & 1) == up:
                    return True
            except TransportError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _restore(self, node: Node, info: dict[str, Any], timeout: float) -> None:
        """Link up and routes back, timer cancelled, link up again.

        Restoring before cancelling keeps the timer while the link may be down; restoring
        after it undoes a link-down the timer had still pending (rollback right after
        inject), which can no longer happen once the timer is gone.
        """
        shell = self.ctx.shell(node)
        deadman.heal_disarm(shell, KIND, self.ident, RESTORE, info["interface"],
                            *info["restore"], again=True, timeout=timeout).check(
            f"{node.name}: ip link set {info['interface']} up")

    def rollback(self) -> dict[str, Any]:
        nodes = [n for n in self.nodes if n.name in self.done]
        return {"restored": dict(zip([n.name for n in nodes],
                                     self.on_each(nodes, self._bring_up), strict=True))}

    def _bring_up(self, node: Node) -> str:
        info = self.done[node.name]
        shell = self.ctx.shell(node)
        try:
            self._restore(node, info, timeout=3)
            return "restored over SSH"
        except TransportError:
            shell.close()  # the connection may be dead; reconnect from scratch
        timer_due = time.monotonic() + max(
            0.0, info["armed_wall"] + info["duration"] - time.time())
        if not deadman.wait_reachable(shell, timer_due + self.params.back_timeout):
            raise RollbackError(f"{self.name}: {node.name} does not answer SSH "
                                f"{self.params.back_timeout:g} s after its timer was due "
                                f"to restore {info['interface']}")
        self._restore(node, info, timeout=10)
        return "restored after the node came back"

    def _missing(self, node: Node, info: dict[str, Any]) -> list[str]:
        """The routes and addresses recorded before the fault that are not back."""
        snapshot = self.ctx.shell(node).run(script(_SNAPSHOT, info["interface"]), timeout=10)
        snapshot.check(f"{node.name}: reading routes of {info['interface']}")
        present = {_route_key(item) for line in snapshot.stdout.splitlines()
                   if not line.startswith("addr|") if (item := _restorable(line))}
        return [item.split("|", 2)[2] for item in info["restore"]
                if _route_key(item) not in present]

    def verify(self) -> None:
        down, lost = [], []
        nodes = [n for n in self.nodes if n.name in self.done]
        for node, (up, missing) in zip(nodes, self.on_each(nodes, self._whole), strict=True):
            if not up:
                down.append(f"{self.interface_on(node)} on {node.name}")
            elif missing:
                lost.append(f"{node.name} ({self.done[node.name]['interface']}): "
                            + "; ".join(missing))
        if down:
            raise RollbackError(f"{self.name}: still down: {', '.join(down)}")
        if lost:
            raise RollbackError(f"{self.name}: the link is up but routes or addresses it had "
                                f"before are missing: {', '.join(lost)}; heal again or add "
                                "them back with 'ip route replace'")

    def _whole(self, node: Node) -> tuple[bool, list[str]]:
        if not self._wait_flags(node, up=True, seconds=2):
            return False, []
        return True, self._missing(node, self.done[node.name])

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "done" in missing:
            self.done = {n.name: {"interface": self.interface_on(n), "restore": [],
                                  "armed_wall": 0, "duration": 0, "carries_ssh": False}
                         for n in self.nodes}

    def describe(self) -> str:
        return (f"{self.name}: {self.params.interface} down on "
                + ", ".join(n.name for n in self.nodes))
