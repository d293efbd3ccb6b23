"""power-off, power-cycle, power-reset: switch a node's power over its BMC (IPMI or Redfish).

What a failing PSU, a pulled plug or a hung host's watchdog does, through the BMC named in
the node's inventory ``bmc:`` block (``ha_tests.bmc``: pyghmi or ipmitool over IPMI v2
lanplus, or Redfish). Preflight refuses a node without ``bmc:``, a BMC that does not answer,
and a node that is already off.

* **power-off** — inject: a hard power off, then the BMC is polled until it reports ``off``
  (recorded, with how long that took). Rollback: power on, then wait (``boot_timeout``,
  default 120 s) until the node answers SSH again (``true`` over the node's connection,
  reconnecting). Verify: the BMC says ``on`` and SSH answers.
* **power-cycle** / **power-reset** — inject: the BMC's cycle (off, pause, on) or reset (hard
  reboot). Rollback: power on if the BMC says off, and wait for SSH as above. Before the
  fault the node's boot marker (``/proc/sys/kernel/random/boot_id`` and the start time of
  its PID 1) is read; rollback waits until the marker changed, or SSH was seen down, so an
  SSH answer from *before* the reboot is never taken for recovery.

Examples::

    - type: power-off
      target: victim            # e.g. {role: compute, pick: random}
      boot_timeout: 180
    - type: power-reset
      target: vip-holder
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import Field

from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import HaTestsError, PreflightError, RollbackError, TransportError
from ha_tests.validation import StrictModel

BOOT_MARKER = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"


class PowerParams(StrictModel):
    boot_timeout: float = Field(120.0, gt=0, le=3600, description="seconds for the node to "
                                                                  "answer SSH after power on")
    bmc_timeout: float = Field(10.0, gt=0, le=120, description="seconds per BMC call")
    off_timeout: float = Field(30.0, gt=0, le=600, description="seconds for the BMC to report "
                                                               "off after power off")


class PowerState(AttackerState):
    #: nodes the BMC was told to switch (recorded before the command is sent)
    affected: list[str] = []
    #: of those, the ones whose power-off was not yet seen done
    unconfirmed: list[str] = []


class _PowerAttacker(Attacker):
    Params = PowerParams
    State = PowerState
    needs_target = True
    action: ClassVar[str]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: nodes the BMC was told to switch (recorded before the command is sent)
        self.affected: list[str] = []
        #: of those, the ones whose power-off was not yet seen done: a heal after a kill -9
        #: lets such a command land before it powers the node on again
        self.unconfirmed: list[str] = []
        self.markers: dict[str, str] = {}
        self._bmcs: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _node(self, name: str):
        return next((n for n in self.nodes if n.name == name), None) or \
            self.ctx.inventory.node(name)

    def _bmc(self, node):
        if node.name not in self._bmcs:
            self._bmcs[node.name] = self.ctx.bmc(node)
        return self._bmcs[node.name]

    def _state(self, node) -> str:
        return self._bmc(node).power_state(timeout=self.params.bmc_timeout)

    def _wait_state(self, node, wanted: str, seconds: float) -> tuple[str | None, float]:
        started = time.monotonic()
        state: str | None = None
        while True:
            try:
                state = self._state(node)
            except HaTestsError:
                state = None
            if state == wanted or time.monotonic() - started >= seconds:
                return state, time.monotonic() - started
            time.sleep(0.2)

    def _ssh_ok(self, node, timeout: float) -> bool:
        shell = self.ctx.shell(node)
        try:
            return shell.run(["true"], timeout=timeout).ok
        except TransportError:
            shell.close()  # a dead connection must not be reused: reconnect next time
            return False

    def _marker(self, node) -> str | None:
        try:
            result = self.ctx.shell(node).run(["sh", "-c", BOOT_MARKER], timeout=10)
        except TransportError:
            return None
        return result.stdout.strip() if result.ok and result.stdout.strip() else None

    def _power_on(self, node, deadline: float, facts: dict[str, Any]) -> str:
        """Power on unless on; a BMC that fails for a moment is asked again until deadline."""
        began = time.monotonic()
        while True:
            try:
                if self._state(node) == "on":
                    if facts.get("powered_on"):
                        facts["bmc_on_after_s"] = round(time.monotonic() - began, 3)
                    return "on"
                self._bmc(node).power_on(timeout=self.params.bmc_timeout)
                facts["powered_on"] = True
                state, _took = self._wait_state(node, "on",
                                                min(10.0, max(0.5, deadline - time.monotonic())))
                if state == "on":
                    facts["bmc_on_after_s"] = round(time.monotonic() - began, 3)
                    return state
            except HaTestsError as exc:
                facts["bmc_error"] = str(exc)[:200]
            if time.monotonic() >= deadline:
                raise RollbackError(f"{self.name}: could not power {node.name} on within "
                                    f"{self.params.boot_timeout:g} s: "
                                    f"{facts.get('bmc_error', 'the BMC still says off')}")
            time.sleep(1.0)

    def _wait_up(self, node, deadline: float) -> dict[str, Any]:
        """Power on if off, then wait for SSH (and, after a reboot, a new boot marker)."""
        facts: dict[str, Any] = {}
        started = time.monotonic()
        state = self._power_on(node, deadline, facts)
        before = self.markers.get(node.name)
        seen_down = state != "on" or facts.get("powered_on", False)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RollbackError(f"{self.name}: {node.name} did not answer SSH within "
                                    f"{self.params.boot_timeout:g} s of power on")
            if self._ssh_ok(node, min(10.0, max(0.5, remaining))):
                marker = self._marker(node) if before else None
                rebooted = seen_down or bool(marker and marker != before)
                # the reboot may have come and gone unseen (another user of the node's
                # connection reconnected, and the marker is shared with the host, as in
                # namespaces): after a grace period, accept and say so
                unsure = time.monotonic() - started >= min(30.0, self.params.boot_timeout / 4)
                if before is None or rebooted or unsure:
                    facts["ssh_after_s"] = round(time.monotonic() - started, 3)
                    if before is not None:
                        facts["rebooted"] = rebooted
                        if not rebooted:
                            facts["note"] = "SSH answers, but no reboot was observed"
                    return facts
            else:
                seen_down = True
            time.sleep(0.5)

    # -- the verbs ------------------------------------------------------------------------------
    def preflight(self) -> None:
        for node in self.nodes:
            if node.bmc is None:
                raise PreflightError(f"{self.name}: node {node.name} has no 'bmc:' in the "
                                     "inventory; power attackers switch power over the BMC")
            try:
                state = self._state(node)
            except HaTestsError as exc:
                raise PreflightError(f"{self.name}: the BMC of {node.name} does not answer: "
                                     f"{exc}") from None
            if state != "on":
                raise PreflightError(f"{self.name}: {node.name} is already powered {state} "
                                     "(per its BMC); nothing to attack")

    def inject(self) -> dict[str, Any]:
        done: dict[str, Any] = {}
        self.on_each(self.nodes, lambda node: self._switch(node, done))
        return {"action": f"power-{self.action}", "nodes": done}

    def _switch(self, node, done: dict[str, Any]) -> None:
        """One node's BMC told to switch, the ledger naming the node first (every node at
        once: each BMC is its own endpoint)."""
        facts: dict[str, Any] = {"before": self._state(node)}
        if self.action != "off":
            marker = self._marker(node)
            if marker:
                self.markers[node.name] = marker
        with self.ledger_lock:
            if node.name not in self.affected:
                self.affected.append(node.name)
            if self.action == "off" and node.name not in self.unconfirmed:
                self.unconfirmed.append(node.name)
            self.checkpoint()  # the ledger names the node before its BMC is told anything
        sent = time.monotonic()
        getattr(self._bmc(node), f"power_{self.action}")(timeout=self.params.bmc_timeout)
        facts["command_s"] = round(time.monotonic() - sent, 3)
        self.note_fault(node.name, (time.time(), time.time()))
        if self.action == "off":
            state, took = self._wait_state(node, "off", self.params.off_timeout)
            facts.update(after=state, off_confirmed_after_s=round(took, 3))
            if state != "off":
                done[node.name] = facts
                raise HaTestsError(f"{self.name}: the BMC of {node.name} accepted power "
                                   f"off but reports {state} after "
                                   f"{self.params.off_timeout:g} s")
            with self.ledger_lock:
                self.unconfirmed.remove(node.name)
                self.checkpoint()
        done[node.name] = facts

    def rollback(self) -> dict[str, Any]:
        if not self.affected:
            return {"note": "no node was switched"}
        deadline = time.monotonic() + self.params.boot_timeout
        names = list(self.affected)
        waited = self.on_each(names, lambda name: self._wait_up(self._node(name), deadline))
        report = {"nodes": dict(zip(names, waited, strict=True))}
        self.unconfirmed.clear()  # whatever the BMC was doing, it has powered them on since
        return report

    def verify(self) -> None:
        self.on_each(list(self.affected), self._verify_node)

    def _verify_node(self, name: str) -> None:
        node = self._node(name)
        try:
            state = self._state(node)
        except HaTestsError as exc:
            raise RollbackError(f"{self.name}: BMC of {name} does not answer after "
                                f"rollback: {exc}") from None
        if state != "on":
            raise RollbackError(f"{self.name}: {name} is still powered {state}")
        if not self._ssh_ok(node, 10.0):
            raise RollbackError(f"{self.name}: {name} is on but does not answer SSH")

    def heal(self) -> None:
        self.markers.clear()  # heal only needs the node on and answering
        for name in list(self.unconfirmed):
            # a power-off a killed runner sent may still be on its way: powering on first
            # and seeing SSH answer would say "healed" a moment before the node goes off
            self._wait_state(self._node(name), "off", self.params.off_timeout)
            self.unconfirmed.remove(name)
        self.rollback()

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "affected" in missing:
            self.affected = [n.name for n in self.nodes]
        if "unconfirmed" in missing:
            self.unconfirmed = list(self.affected) if self.action == "off" else []

    def describe(self) -> str:
        return f"{self.name}: power {self.action} over the BMC of " + \
            ", ".join(n.name for n in self.nodes)


class PowerOff(_PowerAttacker):
    action = "off"


class PowerCycle(_PowerAttacker):
    action = "cycle"


class PowerReset(_PowerAttacker):
    action = "reset"
