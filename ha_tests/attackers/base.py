"""What every attacker is: inject a fault, roll it back, verify the rollback, heal for good.

Like a Jepsen nemesis, an attacker never outlives the run: the runner calls ``rollback`` on
every exit path and ``heal`` as the final step, and ``verify`` must prove the target is whole.

What a heal in another process needs is declared once, as the attacker's ``State`` model:
each field is an attribute of the attacker by the same name, saved to the fault ledger and
restored from it by this base, so no attacker writes (or gets wrong) its own JSON.
"""

from __future__ import annotations

import abc
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import ValidationError

from ha_tests.errors import HaTestsError
from ha_tests.plugin_base import NoParams, Plugin
from ha_tests.validation import StrictModel

__all__ = ["Attacker", "AttackerState", "NoParams", "StateError"]

T = TypeVar("T")
R = TypeVar("R")
#: nodes worked on at once by one attacker (each over its own SSH connection)
FAN_OUT_WORKERS = 32

if TYPE_CHECKING:
    from ha_tests.context import RunContext
    from ha_tests.inventory import Node


class AttackerState(StrictModel):
    """What an attacker records in the ledger: nodes touched, PIDs, rule tags. No secrets.

    Every field has a default: a field missing from an entry (written before the field
    existed, or before the step that sets it) means "unknown", and the attacker's
    ``assume_unknown`` decides what to assume.
    """


class StateError(HaTestsError):
    """A ledger state that does not fit the attacker's State model."""


class Attacker(Plugin):
    """One fault on a set of nodes. Subclasses declare ``Params`` and implement the verbs."""

    #: False for attackers that act on the cloud as a whole (no ``target`` needed)
    needs_target: ClassVar[bool] = True
    #: True when the fault ends by itself after the scenario's ``fault_duration`` (node-side timer)
    self_healing: ClassVar[bool] = False
    #: what a heal needs, field for field an attribute of the attacker (see ledger_state)
    State: ClassVar[type[AttackerState]] = AttackerState

    def __init__(self, name: str, params: StrictModel, nodes: list[Node], ctx: RunContext):
        super().__init__(name, params, nodes, ctx)
        #: set by its FaultGuard: writes a ledger_state() into this fault's ledger entry
        self.ledger_sink: Callable[[dict[str, Any]], None] | None = None
        #: held while the state changes and while it is written (inject may fan out)
        self.ledger_lock = threading.RLock()
        #: node name -> the node's own clock (wall seconds) once the fault was in force there
        #: (the last inject's; what the injection skew is measured from)
        self.fault_at: dict[str, float] = {}

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
        """The attributes named by ``State``, checked against it, as JSON for the ledger.

        Written to the fault ledger before inject, at every ``checkpoint()`` and after
        inject, so ``ha-tests heal`` can undo the fault after the runner died at any moment.
        """
        with self.ledger_lock:
            values = {name: getattr(self, name) for name in self.State.model_fields}
            return self.State.model_validate(values).model_dump(mode="json")

    def checkpoint(self) -> None:
        """Write ledger_state() to the ledger now: call it after noting what the next step of
        inject will change and *before* that step, so a kill -9 during it strands nothing."""
        with self.ledger_lock:
            if self.ledger_sink is not None:
                self.ledger_sink(self.ledger_state())

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take back what ledger_state() wrote, in a new process, before heal().

        A state that does not fit ``State`` raises StateError (nothing is touched); a field
        missing from it is handed to ``assume_unknown``.
        """
        try:
            restored = self.State.model_validate(state)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'state'}: {e['msg']}"
                                 for e in exc.errors())
            raise StateError(f"{self.name}: the recorded state does not fit "
                             f"{type(self).__name__}.State ({problems}); it was written by "
                             "another ha-tests version or edited by hand") from None
        with self.ledger_lock:
            for name in restored.model_fields_set:
                setattr(self, name, getattr(restored, name))
            missing = frozenset(self.State.model_fields) - restored.model_fields_set
            if missing:
                self.assume_unknown(missing)

    def assume_unknown(self, missing: frozenset[str]) -> None:
        """Fill in the State fields an entry lacked: nobody knows what inject did there (an
        entry written before checkpoints existed), so assume every node of the entry was
        hit, and heal() and verify() look at all of them instead of finding nothing to check.
        Default: keep this instance's own values."""

    def on_each(self, items: list[T], work: Callable[[T], R]) -> list[R]:
        """``work(item)`` for every node's item at once, results in the items' order.

        Each node has its own connection, so a fault on fifty nodes starts on all of them
        within a round trip instead of one after the other (benchmarks/fanout.py). Every
        item is finished before this returns; the first failure is then raised, with what
        the others did already recorded by ``work`` for the rollback.
        """
        if len(items) <= 1:
            return [work(item) for item in items]
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=min(FAN_OUT_WORKERS, len(items)),
                thread_name_prefix=f"attack-{self.name}") as pool:
            futures = [pool.submit(work, item) for item in items]
            concurrent.futures.wait(futures)
        for future in futures:
            if future.exception() is not None:
                raise future.exception()
        return [future.result() for future in futures]

    def note_fault(self, node_name: str, applied: Any) -> None:
        """Record when the fault was in force on the node, by the node's clock: the end of
        its apply (``deadman.Applied.fault_at``, or a ``(start, end)`` pair)."""
        moment = getattr(applied, "fault_at", applied)
        with self.ledger_lock:
            self.fault_at[node_name] = float(moment[1])

    def injection_timing(self) -> dict[str, Any]:
        """When the last inject's fault was in force on each node (``fault_at``, each node's
        own clock) and, over two nodes or more, the spread first to last (``skew_s``): a
        fault on ``majority`` or ``all`` is the fault it claims only if its nodes failed
        together. Clocks that disagree add to the spread (the lab's nodes share one)."""
        with self.ledger_lock:
            moments = dict(self.fault_at)
        if not moments:
            return {}
        timing: dict[str, Any] = {"fault_at": {n: round(t, 6) for n, t in moments.items()}}
        if len(moments) > 1:
            timing["skew_s"] = round(max(moments.values()) - min(moments.values()), 6)
        return timing

    def describe(self) -> str:
        """One line for dry runs and progress: what this attacker will do, where."""
        where = ", ".join(n.name for n in self.nodes) or "the cloud"
        return f"{self.name} on {where}"
