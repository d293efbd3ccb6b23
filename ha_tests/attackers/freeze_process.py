"""freeze-process: SIGSTOP a service's processes — alive, holding its sockets, answering nothing.

The hung-but-alive failure (a D-state disk, a GC pause, a deadlock) is what a killed process
is not: the PID stays, TCP connects still succeed (the kernel completes the handshake on the
listening socket), systemd and Pacemaker's monitor see a running process, and only timeouts
notice. Rollback sends SIGCONT to exactly the PIDs it stopped; the runner, its SSH session,
sshd and the node's init are never stopped, whatever the pattern (ha_tests.processes). A
node-side dead-man timer (ha_tests.attackers.deadman) continues them after ``duration``
seconds if the runner is gone, so no process stays frozen.

Example::

    - type: freeze-process
      target: victim
      service: rabbitmq           # pattern from the inventory, or process: '<regex>'
      duration: 20
    timing:
      fault_duration: 20
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ha_tests import processes
from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.processes import describe_spared, service_pattern, victims
from ha_tests.transport import script
from ha_tests.validation import StrictModel

KIND = "freeze-process"

#: continue the given PIDs; those gone meanwhile are fine
HEAL = 'for p in "$@"; do kill -s CONT "$p" 2>/dev/null; done\nexit 0\n'

#: "PID STATE" for each given PID that still exists
_STATES = r"""
for p in "$@"; do
  read -r st < "/proc/$p/stat" 2>/dev/null || continue
  st=${st##*) }; set -f; echo "$p ${st%% *}"; set +f
done
"""


class FreezeProcessParams(StrictModel):
    service: str | None = Field(None, description="service name in the inventory services map")
    process: str | None = Field(None, description="regex over the command line; overrides "
                                                  "the service's pattern")
    duration: float | None = Field(None, gt=0, le=3600,
                                   description="seconds until the node continues the "
                                               "processes by itself; default: the hold")

    @model_validator(mode="after")
    def _needs_pattern(self):
        if not (self.service or self.process):
            raise ValueError("freeze-process needs 'service' (from the inventory) or 'process'")
        return self


class FreezeProcessState(AttackerState):
    #: tags this attacker's dead-man timers
    ident: str = ""
    #: node name -> PIDs stopped there (recorded before SIGSTOP)
    frozen: dict[str, list[int]] = {}


class FreezeProcess(Attacker):
    Params = FreezeProcessParams
    State = FreezeProcessState
    self_healing = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ident = deadman.new_id()
        self.frozen: dict[str, list[int]] = {}

    @property
    def duration(self) -> float:
        return deadman.fault_seconds(self, self.params.duration)

    @property
    def pattern(self) -> str:
        return service_pattern(self.ctx.inventory, self.params.service, self.params.process,
                               self.name)

    def preflight(self) -> None:
        self.duration  # noqa: B018 - raises PreflightError when nothing says how long
        for node in self.nodes:
            freezable, spared = victims(self.ctx.shell(node), self.pattern)
            if not freezable:
                also = (f" but {describe_spared(spared)}, which ha-tests never signals; "
                        "narrow the pattern" if spared else "")
                raise PreflightError(f"{self.name}: no process matches {self.pattern!r} on "
                                     f"{node.name}{also}; nothing to freeze")

    def inject(self) -> dict[str, Any]:
        seconds = self.duration
        self.on_each(self.nodes, lambda node: self._freeze(node, seconds))
        return {"pids": self.frozen, "pattern": self.pattern, "duration": seconds}

    def _freeze(self, node, seconds: float) -> None:
        """Which PIDs (one listing, as the ledger must hold them before they stop), then the
        timer, SIGSTOP and the timer's check in one round trip."""
        shell = self.ctx.shell(node)
        pids = [str(p.pid) for p in victims(shell, self.pattern)[0]]
        if not pids:
            return
        with self.ledger_lock:
            self.frozen[node.name] = [int(p) for p in pids]
            self.checkpoint()  # the ledger holds the PIDs before they stop
        applied = deadman.arm_apply(shell, KIND, self.ident, seconds, HEAL, pids,
                                    processes.SIGNAL_BODY,
                                    processes.signal_args(shell, "STOP", pids))
        self.note_fault(node.name, applied)
        with self.ledger_lock:
            self.frozen[node.name] = processes.signalled(applied.output)[0]

    def states(self, node_name: str) -> dict[int, str]:
        """State letter (R, S, T, ...) of each frozen PID still alive, from /proc."""
        pids = self.frozen.get(node_name, [])
        if not pids:
            return {}
        result = self.ctx.shell(node_name).run(script(_STATES, *map(str, pids)), timeout=10)
        result.check(f"{node_name}: reading process states")
        return {int(line.split()[0]): line.split()[1] for line in result.stdout.splitlines()}

    def rollback(self) -> dict[str, Any]:
        names = list(self.frozen)
        return {"states": dict(zip(names, self.on_each(names, self._thaw), strict=True))}

    def _thaw(self, name: str) -> dict[int, str]:
        shell = self.ctx.shell(name)
        try:
            deadman.heal_disarm(shell, KIND, self.ident, HEAL,
                                *map(str, self.frozen[name])).check()
        except TransportError as exc:
            raise RollbackError(f"{self.name}: cannot continue PIDs on {name} ({exc}); "
                                "its dead-man timer will") from None
        return self.states(name)

    def verify(self) -> None:
        stopped = {name: [pid for pid, state in self.states(name).items() if state == "T"]
                   for name in self.frozen}
        stopped = {k: v for k, v in stopped.items() if v}
        if stopped:
            raise RollbackError(f"{self.name}: still stopped (state T): {stopped}")

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "frozen" in missing:  # which PIDs is unknown: every process of the pattern is
            self.frozen = {n.name: [p.pid for p in victims(self.ctx.shell(n), self.pattern)[0]]
                           for n in self.nodes}  # continued and checked

    def describe(self) -> str:
        what = self.params.service or self.params.process
        return f"{self.name}: SIGSTOP {what} on " + ", ".join(n.name for n in self.nodes)
