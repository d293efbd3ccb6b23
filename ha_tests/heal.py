"""Heal faults left in force by runners that died (``ha-tests heal``, and every run's start).

Each orphaned ledger entry is rebuilt into its attacker (same plugin, parameters and nodes,
plus the state it recorded before each step of inject and after it) and healed and verified
again; heals are idempotent, so healing a fault that already healed itself is harmless.

An operation's undo entry is rebuilt into its operation and the undo runs once, with the
variables recorded. Undos are not idempotent (a server deleted twice is an error the second
time), so its entry goes whatever the outcome: a failed undo is reported for a person to
check, and never blocks later runs the way a fault still in force does.

Entries are matched to inventories by identity (``Inventory.identity``: the resolved file and
a fingerprint of its nodes), never by the path as typed; a heal against an inventory whose
nodes differ from those the entry was made with is refused, as is a ledger entry that cannot
be read: both block runs against that inventory until a person has looked.
"""

from __future__ import annotations

from typing import Any

from ha_tests import plugins
from ha_tests.context import RunContext
from ha_tests.errors import HaTestsError
from ha_tests.fault_guard import FaultGuard
from ha_tests.inventory import Inventory
from ha_tests.ledger import Ledger, LedgerEntry


def heal_entry(entry: LedgerEntry, inventory: Inventory, ledger: Ledger) -> dict[str, Any]:
    """Heal one usable entry; a fault's entry is cleared (by its FaultGuard) once its heal
    was verified, an undo's by the caller whatever the outcome."""
    data = entry.data
    result: dict[str, Any] = {"attacker": entry.name, "scenario": data["scenario"],
                              "run_id": data["run_id"], "nodes": data["nodes"]}
    if entry.is_undo:
        result["kind"] = data["kind"]
    ctx = RunContext(inventory)
    try:
        nodes = [inventory.node(name) for name in data["nodes"]]
        if entry.is_undo:
            _undo(entry, nodes, ctx)
            result["ok"] = True
        else:
            cls = plugins.attacker_class(data["type"])
            params = cls.Params.model_validate(data["params"])
            guard = FaultGuard.of_entry(ledger, entry, cls(entry.name, params, nodes, ctx))
            healed = guard.roll_back(final=True)  # clears the entry once verified
            result["ok"] = healed.ok
            if healed.error is not None:
                result["error"] = healed.error
    except Exception as exc:  # a state of the wrong shape too: reported, never a crash
        result["ok"], result["error"] = False, f"{type(exc).__name__}: {exc}"
    finally:
        ctx.close()
    return result


def _undo(entry: LedgerEntry, nodes, ctx: RunContext) -> None:
    data = entry.data
    cls = plugins.load(plugins.OPERATIONS, data["type"])
    operation = cls(entry.name, cls.Params.model_validate(data["params"]), nodes, ctx,
                    timeout=float(data.get("timeout") or 60))
    operation.preflight()
    done = operation.undo(dict((data.get("state") or {}).get("variables") or {}))
    if done is not None and not done.ok:
        raise HaTestsError(f"undo failed: {done.detail.get('error', 'no detail')}; check by "
                           "hand what the operation made")


def blocks_runs(result: dict[str, Any]) -> bool:
    """A fault that could not be healed stops later runs; a failed undo does not."""
    return not result["ok"] and result.get("kind") != "operation-undo"


def _belongs(entry: LedgerEntry, inventory: Inventory) -> bool:
    """Whether an entry was made through this inventory's file (an unreadable entry whose
    file cannot be read out of it may belong to any)."""
    mine = inventory.identity.path
    if entry.problem:
        return entry.inventory_path is None or entry.inventory_path == mine
    return entry.inventory_path == mine


def _refusal(entry: LedgerEntry, error: str) -> dict[str, Any]:
    result: dict[str, Any] = {"attacker": entry.name, "ok": False, "error": error,
                              "scenario": entry.data.get("scenario", "?"),
                              "nodes": entry.data.get("nodes", []), "entry": str(entry.path)}
    if entry.is_undo:
        result["kind"] = entry.data["kind"]
    return result


def _target(entry: LedgerEntry, inventory: Inventory | None) -> Inventory:
    """The inventory to heal the entry with: the one given, else its file re-read; either
    way naming the very nodes (and addresses) the fault was injected through."""
    recorded = entry.inventory
    assert recorded is not None
    if inventory is None:
        if recorded.path is None:
            raise HaTestsError("it was made through an inventory with no file; heal it from "
                               f"the program that ran it, or check its nodes by hand and "
                               f"remove {entry.path}")
        from ha_tests.inventory_formats import load_any

        try:
            inventory = load_any(recorded.path)
        except HaTestsError as exc:
            raise HaTestsError(f"cannot read its inventory {recorded.path}: {exc}") from None
    found = inventory.identity
    if found.fingerprint != recorded.fingerprint:
        raise HaTestsError(
            f"refusing to heal: it was made against {recorded}, but {found.path} now names "
            f"other nodes or addresses (nodes {found.fingerprint}), so a heal could act on "
            "a different cloud. Put back the inventory it was made with and run 'ha-tests "
            f"heal' again, or check its nodes by hand and remove {entry.path}")
    return inventory


def heal_orphans(ledger: Ledger, inventory: Inventory | None = None,
                 progress=None) -> list[dict[str, Any]]:
    """Heal every orphan of this inventory (or, with none given, each with its own).

    Unreadable entries and entries whose inventory changed come back as failed results
    that block runs (``blocks_runs``); they are kept for a person to deal with.
    """
    results = []
    # faults first (an undo may need the cloud whole again), then undos, newest first
    orphans = sorted(ledger.orphans(), key=lambda e: (e.is_undo, -float(
        e.data.get("created") or 0) if e.is_undo else 0))
    for entry in orphans:
        if inventory is not None and not _belongs(entry, inventory):
            continue
        if entry.problem:
            results.append(_refusal(entry, entry.fix()))
            continue
        try:
            target = _target(entry, inventory)
        except HaTestsError as exc:
            results.append(_refusal(entry, str(exc)))
            continue
        if progress is not None:
            what = "undo of " if entry.is_undo else ""
            progress.phase("heal", f"left by run {entry.data['run_id']}: {what}{entry.name}"
                                   + (f" on {', '.join(entry.data['nodes'])}"
                                      if entry.data["nodes"] else ""))
        result = heal_entry(entry, target, ledger)
        if entry.is_undo:
            ledger.clear(entry.path)
        results.append(result)
    return results
