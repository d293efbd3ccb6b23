"""stop-service and restart-service: act on a service through whatever manages it.

Unlike kill-process, which shows how a supervisor and the cluster cope with a crash, these
are the orderly operations an operator (or a broken deployment tool) performs: a clean stop
that a load balancer should route around, a restart that should cost no failed request. The
inventory's services map says how: a systemd unit, a Pacemaker resource, a docker/podman
container, or explicit commands (ha_tests.services). Rollback starts the service and waits
until its ``status`` command says it runs and, when the map gives a process pattern, until
that process is there too; verify checks both again from outside.

The stop or restart runs under a shell tagged ``ha-tests:<action>-service:<id>`` (see
ha_tests.attackers.deadman): a runner killed while a slow stop is under way leaves that
command running on the node, and a heal waits for it to end before it starts the service,
instead of finding it still up and calling it healed a moment before it goes down.

Example::

    - type: stop-service
      target: victim               # e.g. {service: keystone, pick: one}
      service: keystone
    - type: restart-service
      target: victim
      service: haproxy
    timing:
      fault_duration: 15           # how long stop-service keeps it stopped
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.inventory import Node, Service
from ha_tests.processes import find
from ha_tests.services import service_argv
from ha_tests.transport import script
from ha_tests.validation import StrictModel


class ServiceParams(StrictModel):
    service: str = Field(description="service name in the inventory services map")
    command_timeout: float = Field(60.0, gt=0, le=1800,
                                   description="seconds a start/stop/restart may take")
    back_timeout: float = Field(60.0, gt=0, le=1800,
                                description="seconds to wait for the service to run again")


#: run "$@" in a shell whose $0 is the tag, so the command can be found while it runs
_TAGGED_COMMAND = '"$@"; rc=$?; exit $rc'
#: the tagged command ("sh -c _TAGGED_COMMAND tag argv...") with its moment on the node's
#: clock when it has returned (the service is stopped from then on)
_TIMED = r"""
"$@"; _rc=$?
_t=$(date +%s.%N)
printf '\nha-tests-fault-at %s %s\n' "$_t" "$_t"
exit "$_rc"
"""


class ServiceState(AttackerState):
    #: tags the stop/restart command running on the node
    ident: str = ""
    #: node name -> when the command was sent there, its exit code and time
    acted: dict[str, dict[str, Any]] = {}


class _ServiceAttacker(Attacker):
    State = ServiceState
    Params = ServiceParams
    action = "stop"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ident = deadman.new_id()
        self.acted: dict[str, dict[str, Any]] = {}

    @property
    def kind(self) -> str:
        return f"{self.action}-service"

    @property
    def service(self) -> Service:
        service = self.ctx.inventory.service(self.params.service)
        if service is None:
            raise PreflightError(f"{self.name}: no service '{self.params.service}' in the "
                                 "inventory's services map")
        return service

    def _argv(self, action: str) -> list[str]:
        return service_argv(self.params.service, self.service, action)

    def running(self, node: Node, timeout: float = 15.0) -> tuple[bool, str]:
        """(running?, why not): the status command exits 0 and the process pattern matches."""
        shell = self.ctx.shell(node)
        try:
            status = shell.run(self._argv("status"), timeout=timeout)
        except TransportError as exc:
            return False, str(exc)
        if not status.ok or (self.service.manager in ("docker", "podman")
                             and status.stdout.strip() != "true"):
            return False, f"status says not running (exit {status.rc})"
        if self.service.process:
            try:
                if not find(shell, self.service.process, timeout=timeout):
                    return False, f"no process matches {self.service.process!r}"
            except TransportError as exc:
                return False, str(exc)
        return True, ""

    def preflight(self) -> None:
        if self.service.manager == "none":
            raise PreflightError(f"{self.name}: service '{self.params.service}' has no "
                                 "manager in the inventory; set systemd, pacemaker, docker, "
                                 "podman or command")
        for action in ("start", "status", self.action):
            self._argv(action)  # raises PreflightError when a command is missing
        for node in self.nodes:
            ok, why = self.running(node)
            if not ok:
                raise PreflightError(f"{self.name}: {self.params.service} is not running on "
                                     f"{node.name} before the fault: {why}")

    def inject(self) -> dict[str, Any]:
        argv = self._argv(self.action)
        tagged = ["sh", "-c", _TAGGED_COMMAND, deadman.tag(self.kind, self.ident), *argv]
        self.on_each(self.nodes, lambda node: self._act(node, tagged))
        return {"service": self.params.service, "action": self.action,
                "command": argv, "nodes": self.acted}

    def _act(self, node: Node, tagged: list[str]) -> None:
        with self.ledger_lock:
            self.acted[node.name] = {"at": time.time()}
            self.checkpoint()  # the ledger names the node before the service is touched
        result = self.ctx.shell(node).run(script(_TIMED, *tagged),
                                          timeout=self.params.command_timeout)
        applied = deadman.parse_applied(result.stdout)
        with self.ledger_lock:
            self.acted[node.name].update(rc=result.rc, took=round(result.duration, 3))
        result.check(f"{node.name}: {self.action} {self.params.service}")
        if applied.fault_at[1]:
            self.note_fault(node.name, applied)

    def _wait_running(self, node: Node, seconds: float) -> tuple[bool, str]:
        deadline = time.monotonic() + seconds
        while True:
            ok, why = self.running(node, timeout=min(15.0, max(1.0, seconds)))
            if ok or time.monotonic() >= deadline:
                return ok, why
            time.sleep(0.2)

    def _wait_for_command(self, node: Node) -> list[int]:
        """Wait (up to command_timeout) for a stop/restart still under way on the node: one a
        killed runner left behind would otherwise undo the start that comes next."""
        shell = self.ctx.shell(node)
        return deadman.wait_gone(shell, self.kind, self.ident, self.params.command_timeout)

    def rollback(self) -> dict[str, Any]:
        nodes = [n for n in self.nodes if n.name in self.acted]
        return {"service": self.params.service,
                "nodes": dict(zip([n.name for n in nodes],
                                  self.on_each(nodes, self._start_again), strict=True))}

    def _start_again(self, node: Node) -> dict[str, Any]:
        try:
            still = self._wait_for_command(node)
        except TransportError as exc:
            raise RollbackError(f"{self.name}: cannot look for the {self.action} command "
                                f"on {node.name}: {exc}") from None
        if still:
            raise RollbackError(f"{self.name}: the {self.action} of {self.params.service} "
                                f"on {node.name} still runs after "
                                f"{self.params.command_timeout:g} s (PIDs {still}); "
                                "stop it, start the service, then heal again")
        started = False
        if not self.running(node)[0]:
            self.ctx.shell(node).run(self._argv("start"),
                                     timeout=self.params.command_timeout).check(
                f"{node.name}: start {self.params.service}")
            started = True
        began = time.monotonic()
        ok, why = self._wait_running(node, self.params.back_timeout)
        if not ok:
            raise RollbackError(f"{self.name}: {self.params.service} not running on "
                                f"{node.name} {self.params.back_timeout:g} s after "
                                f"rollback: {why}")
        return {"started_by_rollback": started,
                "running_after": round(time.monotonic() - began, 3)}

    def verify(self) -> None:
        for node in self.nodes:
            if node.name in self.acted:
                ok, why = self.running(node)
                if not ok:
                    raise RollbackError(f"{self.name}: {self.params.service} on {node.name}: "
                                        f"{why}")

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "acted" in missing:
            self.acted = {n.name: {} for n in self.nodes}

    def describe(self) -> str:
        return (f"{self.name}: {self.action} {self.params.service} on "
                + ", ".join(n.name for n in self.nodes))


class StopService(_ServiceAttacker):
    """Stop the service on the targets; it stays stopped for the scenario's hold."""

    action = "stop"


class RestartService(_ServiceAttacker):
    """Restart the service; rollback only makes sure it runs afterwards."""

    action = "restart"
