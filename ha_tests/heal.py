"""Heal faults left in force by runners that died (``ha-tests heal``, and every run's start).

Each orphaned ledger entry is rebuilt into its attacker (same plugin, parameters and nodes,
plus the state it recorded after injecting) and healed and verified again; heals are
idempotent, so healing a fault that already healed itself is harmless.

An operation's undo entry is rebuilt into its operation and the undo runs once, with the
variables recorded. Undos are not idempotent (a server deleted twice is an error the second
time), so its entry goes whatever the outcome: a failed undo is reported for a person to
check, and never blocks later runs the way a fault still in force does.
"""

from __future__ import annotations

from typing import Any

from ha_tests import plugins
from ha_tests.context import RunContext
from ha_tests.errors import HaTestsError
from ha_tests.inventory import Inventory, load_inventory
from ha_tests.ledger import Ledger, LedgerEntry


def heal_entry(entry: LedgerEntry, inventory: Inventory) -> dict[str, Any]:
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
        else:
            cls = plugins.attacker_class(data["type"])
            params = cls.Params.model_validate(data["params"])
            attacker = cls(entry.name, params, nodes, ctx)
            attacker.restore_state(data.get("state") or {})
            attacker.heal()
            attacker.verify()
        result["ok"] = True
    except (HaTestsError, plugins.UnknownPlugin, ValueError, OSError) as exc:
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


def heal_orphans(ledger: Ledger, inventory: Inventory | None = None,
                 progress=None) -> list[dict[str, Any]]:
    """Heal every orphan of this inventory (or, with none given, each with its own)."""
    results = []
    # faults first (an undo may need the cloud whole again), then undos, newest first
    orphans = sorted(ledger.orphans(), key=lambda e: (e.is_undo, -float(
        e.data.get("created") or 0) if e.is_undo else 0))
    for entry in orphans:
        source = entry.data.get("inventory_file")
        if inventory is not None and source != inventory.source_file:
            continue
        try:
            target = inventory or load_inventory(source)
        except HaTestsError as exc:
            results.append({"attacker": entry.name, "ok": False,
                            "error": f"cannot read its inventory {source}: {exc}",
                            **({"kind": entry.data["kind"]} if entry.is_undo else {})})
            continue
        if progress is not None:
            what = "undo of " if entry.is_undo else ""
            progress.phase("heal", f"left by run {entry.data['run_id']}: {what}{entry.name}"
                                   + (f" on {', '.join(entry.data['nodes'])}"
                                      if entry.data["nodes"] else ""))
        result = heal_entry(entry, target)
        if result["ok"] or entry.is_undo:
            ledger.clear(entry.path)
        results.append(result)
    return results
