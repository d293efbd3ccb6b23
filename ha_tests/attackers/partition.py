"""partition: drop traffic between the target nodes and their peers, or on one service port.

The Jepsen nemesis that matters most for HA: a node alive and serving, but cut off from its
cluster (split brain, quorum loss, a VIP held twice). Rules go into a pair of chains of their
own (``HAT-<id>-in`` / ``HAT-<id>-out``) entered from INPUT and OUTPUT by one jump each,
every rule tagged ``-m comment --comment ha-tests:partition:<id>``; cleanup removes those
jumps and chains and nothing else, so a firewall the cloud already has is left alone. The
node also arms a dead-man timer (ha_tests.attackers.deadman) that removes them after
``duration`` seconds, should the runner be gone. The SSH port stays open by default, so the
runner can still roll back. Like Jepsen, both sides drop each other by default (``symmetric``):
rules on the targets alone would let the targets' multicast (VRRP adverts, corosync) reach the
peers, and keepalived would never move the VIP.

Peers are nodes (names or a role; the targets themselves are left out) whose every global
address is looked up, plus any explicit addresses. With ``port`` only that port is cut
(traffic to and from it), from the peers, or from everyone when no peer is given::

    - type: partition
      target: victim               # e.g. {role: controller, pick: vip-holder}
      peer_role: controller        # the other controllers
      duration: 20
    - type: partition
      target: victim
      port: 3306                   # galera's clients and peers lose this node's database
      duration: 20
"""

from __future__ import annotations

import ipaddress
import shlex
import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.inventory import Node
from ha_tests.transport import script
from ha_tests.validation import StrictModel

KIND = "partition"

#: remove this run's jumps and chains ($1 = id), for IPv4 and IPv6; idempotent
HEAL = r"""
id=$1; tag="ha-tests:partition:$id"
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null 2>&1 || continue
  for ch in INPUT OUTPUT; do
    [ "$ch" = INPUT ] && own="HAT-$id-in" || own="HAT-$id-out"
    n=0
    while [ $n -lt 20 ] && "$ipt" -w 5 -D "$ch" -m comment --comment "$tag" -j "$own" \
        2>/dev/null; do n=$((n+1)); done
    "$ipt" -w 5 -F "$own" 2>/dev/null
    "$ipt" -w 5 -X "$own" 2>/dev/null
  done
done
exit 0
"""

#: the apply of one round trip (ha_tests.attackers.deadman.arm_apply): stdin holds the IPv4
#: rules ($1 lines), then the IPv6 ones ($2 lines), each family one iptables-restore
#: transaction (chains, rules and jumps appear together). With $3 = keep they go in now; with
#: $3 = staged (keep_ssh off: the rules may cut the very session that applies them) a
#: detached process applies them once this command has returned, and writes its exit code
#: for the rollback to read ($4 id, $5 node name: nodes may share /tmp, as the lab's do)
APPLY = r"""
f=$(mktemp) || exit 3
cat > "$f" || exit 3
b="${TMPDIR:-/tmp}/.ha-tests-partition-$4-$5"
rc=0
one() {  # $1 tool, $2 first line, $3 lines
  [ "$3" -gt 0 ] || return 0
  if [ "$mode" = keep ]; then
    tail -n +"$2" "$f" | head -n "$3" | "$1-restore" -w 5 --noflush
  else
    tail -n +"$2" "$f" | head -n "$3" > "$b-$1.rules" || return 3
    rm -f -- "$b-$1.rc"
    setsid sh -c 'sleep 0.5; "$0-restore" -w 5 --noflush < "$1.rules"; echo $? > "$1.rc"' \
      "$1" "$b-$1" </dev/null >/dev/null 2>&1 &
  fi
}
mode=$3
one iptables 1 "$1" || rc=$?
[ "$rc" = 0 ] && { one ip6tables "$(($1 + 1))" "$2" || rc=$?; }
rm -f -- "$f"
exit "$rc"
"""

#: exit codes of the detached applies ($1 id, $2 node name), then their files are removed
_APPLIED = r"""
for f in "${TMPDIR:-/tmp}"/.ha-tests-partition-"$1"-"$2"-*.rc; do
  [ -e "$f" ] && printf '%s %s\n' "${f##*-}" "$(cat "$f")"
done
rm -f -- "${TMPDIR:-/tmp}"/.ha-tests-partition-"$1"-"$2"-*
exit 0
"""

_LEFT = r"""
for save in iptables-save ip6tables-save; do
  command -v "$save" >/dev/null 2>&1 || continue
  "$save" 2>/dev/null | grep -F -e "HAT-$1-" -e "ha-tests:partition:$1"
done
exit 0
"""

_ADDRESSES = "ip -o addr show scope global | awk '{print $4}'\n"


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


class PartitionParams(StrictModel):
    peers: list[str] = Field([], description="node names on the other side")
    peer_role: str | None = Field(None, description="nodes with this role are on the other "
                                                    "side (targets excepted)")
    addresses: list[str] = Field([], description="extra addresses or CIDRs to cut off")
    all_addresses: bool = Field(True, description="cut every global address of each peer "
                                                  "(looked up on the peer), not only its SSH "
                                                  "address")
    port: int | None = Field(None, ge=1, le=65535,
                             description="cut only this port (to and from it)")
    protocol: Literal["tcp", "udp", "both"] = "tcp"
    direction: Literal["both", "in", "out"] = "both"
    action: Literal["drop", "reject"] = Field("drop", description="drop is a silent cut; "
                                                                  "reject fails fast")
    keep_ssh: bool = Field(True, description="leave the node's SSH port open for the runner")
    symmetric: bool = Field(True, description="peers drop the targets' traffic too (as "
                                              "Jepsen does): cuts multicast such as VRRP")
    duration: float | None = Field(None, gt=0, le=3600,
                                   description="seconds until the node removes the rules by "
                                               "itself; default: the scenario's fault hold")

    @field_validator("addresses")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or network") from None
        return values

    @model_validator(mode="after")
    def _something_to_cut(self):
        if not (self.peers or self.peer_role or self.addresses or self.port):
            raise ValueError("partition needs 'peers', 'peer_role', 'addresses' or 'port'")
        return self


class PartitionState(AttackerState):
    #: tags this attacker's rules, chains and timers
    ident: str = ""
    #: node name -> [wall time its timer was armed, its duration] (before any rule is added)
    armed: dict[str, list[float]] = {}


class Partition(Attacker):
    Params = PartitionParams
    State = PartitionState
    self_healing = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ident = deadman.new_id()
        #: node name -> addresses that node stops talking to (targets and, if symmetric, peers)
        self.plan: dict[str, list[str]] = {}
        #: node name -> [wall time the timer was armed, its duration]
        self.armed: dict[str, list[float]] = {}
        #: nodes whose rules a detached process applies (keep_ssh off); read back at rollback
        self.staged: set[str] = set()

    @property
    def duration(self) -> float:
        return deadman.fault_seconds(self, self.params.duration)

    @property
    def tag(self) -> str:
        return deadman.tag(KIND, self.ident)

    def peer_nodes(self) -> list[Node]:
        targets = {n.name for n in self.nodes}
        known = {n.name: n for n in self.ctx.inventory.nodes}
        unknown = [name for name in self.params.peers if name not in known]
        if unknown:
            raise PreflightError(f"{self.name}: peers {', '.join(unknown)} are not nodes of "
                                 "the inventory (known: " + ", ".join(known) + ")")
        found = [known[name] for name in self.params.peers]
        if self.params.peer_role:
            found += self.ctx.inventory.nodes_with_role(self.params.peer_role)
        unique = {n.name: n for n in found if n.name not in targets}
        return list(unique.values())

    def _addresses_of(self, nodes: list[Node]) -> list[str]:
        """Each node's inventory address and, with all_addresses, every global one it has."""
        vips = set(self.ctx.inventory.vips.values())
        found: list[str] = []
        for node in nodes:
            found.append(node.address)
            if self.params.all_addresses:
                try:
                    out = self.ctx.shell(node).run(script(_ADDRESSES), timeout=10).check()
                except TransportError as exc:
                    raise PreflightError(f"{self.name}: cannot list the addresses of "
                                         f"{node.name} ({exc}); set all_addresses: false "
                                         "to use only its inventory address") from None
                found += [a.split("/")[0] for a in out.stdout.split() if "/" in a]
        return [a for i, a in enumerate(found)
                if a not in vips and a not in found[:i] and _is_address(a)]

    def make_plan(self) -> dict[str, list[str]]:
        peers = self.peer_nodes()
        cut = self._addresses_of(peers) + [a for a in self.params.addresses]
        plan = {node.name: list(cut) for node in self.nodes}
        if self.params.symmetric and peers:
            # the peers drop the targets too: multicast and broadcast the targets send
            # (VRRP adverts, corosync) carry no peer address, only the peers' INPUT sees them
            mine = self._addresses_of(self.nodes)
            for peer in peers:
                plan[peer.name] = list(mine)
        return plan

    def _ssh_port(self, node: Node) -> int:
        return self.ctx.inventory.ssh_for(node).port or 22

    def preflight(self) -> None:
        self.duration  # noqa: B018 - raises PreflightError when nothing says how long
        if (self.params.peers or self.params.peer_role) and not self.peer_nodes():
            raise PreflightError(f"{self.name}: no peer nodes left once the targets are "
                                 "taken out")
        self.plan = self.make_plan()
        for name, cut in self.plan.items():
            node = self.ctx.inventory.node(name)
            if self.params.keep_ssh and self.params.port == self._ssh_port(node):
                raise PreflightError(f"{self.name}: port {self.params.port} is {node.name}'s "
                                     "SSH port and keep_ssh is on")
            if node.address in cut:
                raise PreflightError(f"{self.name}: {node.name} is on both sides")
            result = self.ctx.shell(node).run(["iptables", "-w", "5", "-S", "INPUT"],
                                              timeout=10)
            if not result.ok:
                raise PreflightError(f"{self.name}: iptables does not work on {node.name}: "
                                     f"{(result.stderr or result.stdout).strip()[:200]}")

    def _rules(self, node: Node, cut: list[str], family: int) -> list[list[str]]:
        """Rule specs (chain first, no verb) for one address family, in order."""
        comment = ["-m", "comment", "--comment", self.tag]
        verdict = ["-j", "DROP"] if self.params.action == "drop" else ["-j", "REJECT"]
        protocols = ["tcp", "udp"] if self.params.protocol == "both" else [self.params.protocol]
        addresses = [a for a in cut if ipaddress.ip_network(a, strict=False).version == family]
        if not addresses and not (self.params.port and not cut):
            return []
        rules: list[list[str]] = []
        directions = {"both": ("in", "out"), "in": ("in",), "out": ("out",)}[
            self.params.direction]
        ssh = str(self._ssh_port(node))
        for way in ("in", "out"):
            chain = f"HAT-{self.ident}-{way}"
            if self.params.keep_ssh:
                side = "--dport" if way == "in" else "--sport"
                rules.append([chain, "-p", "tcp", side, ssh, *comment, "-j", "RETURN"])
            if way not in directions:
                continue
            peer_opt = "-s" if way == "in" else "-d"
            for address in addresses or [None]:
                match = [peer_opt, address] if address else []
                if self.params.port:
                    for proto in protocols:
                        for side in ("--dport", "--sport"):
                            rules.append([chain, *match, "-p", proto, side,
                                          str(self.params.port), *comment, *verdict])
                else:
                    rules.append([chain, *match, *comment, *verdict])
        return rules

    def inject(self) -> dict[str, Any]:
        seconds = self.duration
        self.plan = self.plan or self.make_plan()
        counts = self.on_each(list(self.plan.items()),
                              lambda item: self._inject_node(item[0], item[1], seconds))
        return {"tag": self.tag, "cut": self.plan, "port": self.params.port,
                "rules": dict(zip(self.plan, counts, strict=True)), "duration": seconds}

    def _inject_node(self, name: str, cut: list[str], seconds: float) -> int:
        """Arm, apply and check in one round trip (deadman.arm_apply), ledger first."""
        node = self.ctx.inventory.node(name)
        shell = self.ctx.shell(node)
        with self.ledger_lock:
            self.armed[name] = [time.time(), seconds]
            self.checkpoint()
        texts = []
        for family in (4, 6):
            rules = self._rules(node, cut, family)
            lines = []
            if rules:
                lines = ["*filter", f":HAT-{self.ident}-in - [0:0]",
                         f":HAT-{self.ident}-out - [0:0]"]
                lines += [shlex.join(["-A", *rule]) for rule in rules]
                lines += [shlex.join(["-I", base, "1", "-m", "comment", "--comment", self.tag,
                                      "-j", f"HAT-{self.ident}-{way}"])
                          for way, base in (("in", "INPUT"), ("out", "OUTPUT"))]
                lines.append("COMMIT")
            texts.append((lines, len(rules)))
        mode = "keep" if self.params.keep_ssh else "staged"
        stdin = "".join(line + "\n" for lines, _ in texts for line in lines).encode()
        applied = deadman.arm_apply(
            shell, KIND, self.ident, seconds, HEAL, [self.ident], APPLY,
            [str(len(texts[0][0])), str(len(texts[1][0])), mode, self.ident, name],
            stdin=stdin, timeout=deadman.ARM_TIMEOUT + 20)
        self.note_fault(name, applied)
        count = texts[0][1] + texts[1][1]
        if not self.params.keep_ssh and count:
            self.staged.add(name)
        return count

    def _left(self, name: str, timeout: float = 10) -> list[str]:
        result = self.ctx.shell(name).run(script(_LEFT, self.ident), timeout=timeout)
        return result.check(f"{name}: listing firewall rules").stdout.splitlines()

    def rollback(self) -> dict[str, Any]:
        names = list(self.armed)
        outcomes = self.on_each(names, self._rollback_node)
        healed = {name: "rules removed" for name in names}
        applied = {name: codes for name, codes in zip(names, outcomes, strict=True) if codes}
        result: dict[str, Any] = {"healed": healed, "tag": self.tag}
        if applied:
            result["applied"] = applied
        return result

    def _rollback_node(self, name: str) -> dict[str, int] | None:
        armed_at, seconds = self.armed[name]
        shell = self.ctx.shell(name)
        try:
            deadman.heal_disarm(shell, KIND, self.ident, HEAL, self.ident).check()
        except TransportError:
            # keep_ssh off, or the SSH port was in the cut: the node's timer heals it
            shell.close()
            due = time.monotonic() + max(0.0, armed_at + seconds - time.time())
            if not deadman.wait_reachable(shell, due + 60):
                raise RollbackError(f"{self.name}: {name} unreachable after its "
                                    "timer was due to remove the rules") from None
            deadman.heal_disarm(shell, KIND, self.ident, HEAL, self.ident).check()
        if name in self.staged:  # read once, by the rollback of the run that staged them
            self.staged.discard(name)
            return self._applied(shell, name)
        return None

    def _applied(self, shell, name: str) -> dict[str, int]:
        """Exit codes of the detached rule applies: 0 means the cut really was in force."""
        out = shell.run(script(_APPLIED, self.ident, name), timeout=10).check(
            f"{name}: reading back the rule applies").stdout
        codes = {}
        for line in out.splitlines():
            tool, _, code = line.partition(" ")
            codes[tool.removesuffix(".rc")] = int(code) if code.strip().isdigit() else -1
        bad = {tool: code for tool, code in codes.items() if code != 0}
        if bad or not codes:
            raise RollbackError(f"{self.name}: on {name} the rules were never applied "
                                f"({bad or 'no result'}): the partition did not happen")
        return codes

    def verify(self) -> None:
        names = list(self.armed)
        for name, left in zip(names, self.on_each(names, self._left), strict=True):
            if left:
                raise RollbackError(f"{self.name}: rules tagged {self.tag} remain on "
                                    f"{name}: {'; '.join(left)[:500]}")

    def describe(self) -> str:
        what = f"port {self.params.port}" if self.params.port else "traffic"
        peers = list(self.params.peers) + list(self.params.addresses)
        if self.params.peer_role:
            peers.append(f"role {self.params.peer_role}")
        return (f"{self.name}: drop {what} between " + ", ".join(n.name for n in self.nodes)
                + (" and " + ", ".join(peers) if peers else " and everyone"))
