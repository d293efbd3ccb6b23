"""One fault's life in the ledger: record, inject, update, roll back, clear — written once.

The runner (which injects) and ``ha-tests heal`` (which heals what a dead runner left) both
go through a FaultGuard, so the order that makes a kill -9 strand nothing holds in one place:
the entry is on disk before the fault exists, it is rewritten at each step of inject and
after it, and it goes only once a final heal was verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ha_tests.attackers.base import StateError

if TYPE_CHECKING:
    from ha_tests.attackers.base import Attacker
    from ha_tests.inventory import InventoryIdentity
    from ha_tests.ledger import Ledger, LedgerEntry


@dataclass
class RolledBack:
    """What a rollback (or final heal) and its verification came to."""

    ok: bool
    #: what rollback() returned (None for a final heal, or when it raised)
    detail: dict[str, Any] | None = None
    #: ``Type: message`` of what failed
    error: str | None = None


class FaultGuard:
    """The ledger entry of one attacker, kept true from before inject until healed."""

    def __init__(self, ledger: Ledger, attacker: Attacker, *, plugin_type: str, scenario: str,
                 inventory: InventoryIdentity, path: Path | None = None):
        self.ledger = ledger
        self.attacker = attacker
        self.plugin_type = plugin_type
        self.scenario = scenario
        self.inventory = inventory
        #: the entry on disk (None until recorded)
        self.path = path
        if path is not None:
            self._sink(path)

    @classmethod
    def of_entry(cls, ledger: Ledger, entry: LedgerEntry, attacker: Attacker) -> FaultGuard:
        """The guard of a fault a runner left: its state taken back into ``attacker``.

        A state that does not fit the attacker is refused before anything is touched, with
        the entry to look at; the entry stays.
        """
        assert entry.inventory is not None, "an unreadable entry is refused before this"
        guard = cls(ledger, attacker, plugin_type=entry.data["type"],
                    scenario=entry.data["scenario"], inventory=entry.inventory, path=entry.path)
        try:
            attacker.restore_state(entry.data.get("state") or {})
        except StateError as exc:
            raise StateError(f"{exc}. The fault it recorded may still be in force: check "
                             f"the nodes named in {entry.path} and heal them by hand, then "
                             f"remove it (rm '{entry.path}')") from None
        return guard

    def _sink(self, path: Path) -> None:
        self.attacker.ledger_sink = lambda state: self.ledger.update_state(path, state)

    def record(self) -> None:
        """Written and fsynced before the fault exists, so a kill -9 now strands nothing
        (once: a fault injected again in a later iteration keeps its entry)."""
        if self.path is not None:
            return
        attacker = self.attacker
        self.path = self.ledger.record(
            scenario=self.scenario, attacker=attacker.name, plugin_type=self.plugin_type,
            params=attacker.params.model_dump(mode="json"),
            nodes=[n.name for n in attacker.nodes], inventory=self.inventory,
            state=attacker.ledger_state())
        self._sink(self.path)

    def inject(self) -> dict[str, Any]:
        """Record, inject, and write the state inject reached, whether it finished or not.

        The attacker rewrites its state before each step that changes the cloud
        (``Attacker.checkpoint``), so a kill -9 during inject strands nothing either.
        """
        self.record()
        with self.attacker.ledger_lock:
            self.attacker.fault_at.clear()  # the moments of this inject only
        try:
            return self.attacker.inject()
        finally:
            self.attacker.checkpoint()

    def roll_back(self, *, final: bool = False) -> RolledBack:
        """Roll back (or, final, heal for good) and verify; never raises. After a verified
        final heal the entry is cleared; otherwise it stays for ``ha-tests heal``."""
        outcome = RolledBack(ok=False)
        try:
            if final:
                self.attacker.heal()
            else:
                outcome.detail = self.attacker.rollback()
            self.attacker.verify()
            outcome.ok = True
        except Exception as exc:  # the caller reports it loudly; the entry stays
            outcome.error = f"{type(exc).__name__}: {exc}"
        if final and outcome.ok:
            self.clear()
        return outcome

    def clear(self) -> None:
        if self.path is not None:
            self.ledger.clear(self.path)
            self.path = None
            self.attacker.ledger_sink = None

