"""kill-process: signal the processes of a service on the target nodes.

Precise matching (a regex over the full command line, see ha_tests.processes), never the
runner, its SSH session, sshd or the node's init whatever the pattern, the PIDs killed are
recorded, and rollback waits for the service to come back by itself (as systemd
or Pacemaker would restart it) before restarting it through the services map.

Example::

    - type: kill-process
      target: victim
      service: keystone          # pattern and restart command from the inventory
      signal: KILL
"""

from __future__ import annotations

import signal as signals
import time
from typing import Any

from pydantic import Field, field_validator, model_validator

from ha_tests import processes
from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.inventory import Node
from ha_tests.processes import describe_spared, find, service_pattern, victims
from ha_tests.services import service_argv
from ha_tests.validation import StrictModel


def _valid_signal(name: str) -> str:
    name = name.upper().removeprefix("SIG")
    if name.isdigit() or f"SIG{name}" not in signals.Signals.__members__:
        raise ValueError(f"unknown signal '{name}' (use a name such as KILL, TERM, STOP)")
    return name


class KillProcessParams(StrictModel):
    service: str | None = Field(None, description="service name in the inventory services map")
    process: str | None = Field(None, description="regex over the command line; overrides "
                                                  "the service's pattern")
    signal: str = "KILL"
    comes_back_within: float = Field(10.0, ge=0, le=600,
                                     description="seconds to wait for a restart by the node's "
                                                 "own supervisor before restarting it")
    back_timeout: float = Field(60.0, gt=0, le=1800)
    #: restart through the services map on rollback (False: only wait for the supervisor)
    restart: bool = True

    @field_validator("signal")
    @classmethod
    def _check_signal(cls, value: str) -> str:
        return _valid_signal(value)

    @model_validator(mode="after")
    def _needs_pattern(self):
        if not (self.service or self.process):
            raise ValueError("kill-process needs 'service' (from the inventory) or 'process'")
        return self


class KillProcessState(AttackerState):
    #: node name -> PIDs signalled there (recorded before the signal is sent)
    killed: dict[str, list[int]] = {}


class KillProcess(Attacker):
    Params = KillProcessParams
    State = KillProcessState

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.killed: dict[str, list[int]] = {}

    @property
    def pattern(self) -> str:
        return service_pattern(self.ctx.inventory, self.params.service, self.params.process,
                               self.name)

    def preflight(self) -> None:
        pattern = self.pattern
        if self.params.service and self.ctx.inventory.service(self.params.service) is None:
            raise PreflightError(f"{self.name}: no service '{self.params.service}' in inventory")
        for node in self.nodes:
            killable, spared = victims(self.ctx.shell(node), pattern)
            if not killable:
                also = (f" but {describe_spared(spared)}, which ha-tests never signals; "
                        "narrow the pattern" if spared else "")
                raise PreflightError(f"{self.name}: no process matches {pattern!r} on "
                                     f"{node.name}{also}; nothing to kill")

    def inject(self) -> dict[str, Any]:
        pattern = self.pattern
        spared = self.on_each(self.nodes, lambda node: self._kill(node, pattern))
        detail = {"signal": self.params.signal, "pids": self.killed, "pattern": pattern}
        spared_pids = {node.name: pids for node, pids in zip(self.nodes, spared, strict=True)
                       if pids}
        if spared_pids:
            detail["spared"] = spared_pids
        return detail

    def _kill(self, node: Node, pattern: str) -> list[int]:
        """List (the ledger holds the PIDs before they die), then signal; what was spared."""
        shell = self.ctx.shell(node)
        killable, spared = victims(shell, pattern)
        # recorded before the signal: a kill cut short by a lost connection (or a runner
        # killed with -9) is still undone
        with self.ledger_lock:
            self.killed[node.name] = [p.pid for p in killable]
            self.checkpoint()  # the ledger holds the PIDs before they die
        pids = self.killed[node.name]
        late: dict[int, str] = {}
        if pids:
            applied = deadman.apply_timed(
                shell, processes.SIGNAL_BODY,
                *processes.signal_args(shell, self.params.signal, pids),
                timeout=10, what=f"{node.name}: sending SIG{self.params.signal}")
            self.note_fault(node.name, applied)
            signalled, late = processes.signalled(applied.output)
            with self.ledger_lock:
                self.killed[node.name] = signalled
        return sorted({p.pid for p in spared} | set(late))

    def _back(self) -> dict[str, list[int]]:
        def present(node: Node) -> list[int]:
            try:
                # observing only: the cheap unguarded listing, as a monitor sees it
                return [p.pid for p in find(self.ctx.shell(node), self.pattern)]
            except TransportError:
                return []
        return {node.name: pids
                for node, pids in zip(self.nodes, self.on_each(self.nodes, present),
                                      strict=True)}

    def _wait_back(self, seconds: float) -> dict[str, list[int]]:
        deadline = time.monotonic() + seconds
        while True:
            present = self._back()
            if all(present.values()) or time.monotonic() >= deadline:
                return present
            time.sleep(0.2)

    def rollback(self) -> dict[str, Any]:
        if not self.killed:
            return {"note": "nothing was killed"}
        present = self._wait_back(self.params.comes_back_within)
        restarted = []
        if self.params.restart and self.params.service:
            service = self.ctx.inventory.service(self.params.service)
            if service and service.manager != "none":
                restarted = [n.name for n in self.nodes if not present.get(n.name)]
                argv = service_argv(self.params.service, service, "start")
                self.on_each(restarted, lambda name: self.ctx.shell(name).run(argv, timeout=60))
        present = self._wait_back(self.params.back_timeout)
        replaced = {name: sorted(set(pids) - set(self.killed.get(name, [])))
                    for name, pids in present.items()}
        return {"back": present, "new_pids": replaced, "restarted_by_rollback": restarted}

    def verify(self) -> None:
        if not self.killed:
            return
        # a process seen back may have been a passing one the restart runs first (Galera's
        # ``mariadbd --wsrep-recover`` matches the server's pattern and exits): wait again
        missing = [name for name, pids in self._wait_back(self.params.back_timeout).items()
                   if not pids]
        if missing:
            raise RollbackError(f"{self.name}: no process matching {self.pattern!r} on "
                                f"{', '.join(missing)} after rollback")

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "killed" in missing:
            self.killed = {n.name: [] for n in self.nodes}

    def describe(self) -> str:
        what = self.params.service or self.params.process
        return f"{self.name}: SIG{self.params.signal} {what} on " + \
            ", ".join(n.name for n in self.nodes)
