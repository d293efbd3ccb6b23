"""What every attacker is: inject a fault, roll it back, verify the rollback, heal for good.

Like a Jepsen nemesis, an attacker never outlives the run: the runner calls ``rollback`` on
every exit path and ``heal`` as the final step, and ``verify`` must prove the target is whole.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from ha_tests.validation import StrictModel

if TYPE_CHECKING:
    from ha_tests.context import RunContext
    from ha_tests.inventory import Node


class NoParams(StrictModel):
    """For plugins that take no parameters."""


class Attacker(abc.ABC):
    """One fault on a set of nodes. Subclasses declare ``Params`` and implement the verbs."""

    Params: ClassVar[type[StrictModel]] = NoParams
    #: False for attackers that act on the cloud as a whole (no ``target`` needed)
    needs_target: ClassVar[bool] = True
    #: True when the fault ends by itself after the scenario's ``fault_duration`` (node-side timer)
    self_healing: ClassVar[bool] = False

    def __init__(self, name: str, params: StrictModel, nodes: list[Node], ctx: RunContext):
        self.name = name
        self.params = params
        self.nodes = nodes
        self.ctx = ctx

    def preflight(self) -> None:
        """Raise PreflightError when the fault cannot be injected (nothing is touched yet)."""

    @abc.abstractmethod
    def inject(self) -> dict[str, Any]:
        """Inject the fault; return what was done (PIDs killed, rules added), for the record."""

    @abc.abstractmethod
    def rollback(self) -> dict[str, Any]:
        """Undo the fault. Must be safe to call when inject failed half-way or never ran."""

    def verify(self) -> None:
        """Raise RollbackError unless the target is observably whole again."""

    def heal(self) -> None:
        """Final, idempotent heal (Jepsen's final generator). Default: roll back again."""
        self.rollback()

    def ledger_state(self) -> dict[str, Any]:
        """What inject changed that a later heal needs (PIDs, rule tags); JSON-able, no secrets.

        Written to the fault ledger right after inject, so ``ha-tests heal`` can undo the
        fault after the runner died.
        """
        return {}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take back what ledger_state() returned, in a new process, before heal()."""

    def describe(self) -> str:
        """One line for dry runs and progress: what this attacker will do, where."""
        where = ", ".join(n.name for n in self.nodes) or "the cloud"
        return f"{self.name} on {where}"
