"""Heal faults left in force by runners that died (``ha-tests heal``, and every run's start).

Each orphaned ledger entry is rebuilt into its attacker (same plugin, parameters and nodes,
plus the state it recorded after injecting) and healed and verified again; heals are
idempotent, so healing a fault that already healed itself is harmless.
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
    result: dict[str, Any] = {"attacker": data["attacker"], "scenario": data["scenario"],
                              "run_id": data["run_id"], "nodes": data["nodes"]}
    ctx = RunContext(inventory)
    try:
        cls = plugins.attacker_class(data["type"])
        params = cls.Params.model_validate(data["params"])
        nodes = [inventory.node(name) for name in data["nodes"]]
        attacker = cls(data["attacker"], params, nodes, ctx)
        attacker.restore_state(data.get("state") or {})
        attacker.heal()
        attacker.verify()
        result["ok"] = True
    except (HaTestsError, plugins.UnknownPlugin, ValueError, OSError) as exc:
        result["ok"], result["error"] = False, f"{type(exc).__name__}: {exc}"
    finally:
        ctx.close()
    return result


def heal_orphans(ledger: Ledger, inventory: Inventory | None = None,
                 progress=None) -> list[dict[str, Any]]:
    """Heal every orphan of this inventory (or, with none given, each with its own)."""
    results = []
    for entry in ledger.orphans():
        source = entry.data.get("inventory_file")
        if inventory is not None and source != inventory.source_file:
            continue
        try:
            target = inventory or load_inventory(source)
        except HaTestsError as exc:
            results.append({"attacker": entry.data.get("attacker"), "ok": False,
                            "error": f"cannot read its inventory {source}: {exc}"})
            continue
        if progress is not None:
            progress.phase("heal", f"left by run {entry.data['run_id']}: "
                                   f"{entry.data['attacker']} on {', '.join(entry.data['nodes'])}")
        result = heal_entry(entry, target)
        if result["ok"]:
            ledger.clear(entry.path)
        results.append(result)
    return results
