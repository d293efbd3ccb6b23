"""A scenario's operations in one iteration: run each at its point, check, set, undo.

Kept out of the runner so the runner only says *when* ("after-inject"); what an operation's
record holds, how ``expect:`` and ``sets:`` read its output and that every operation that
ran is undone (newest first, on every exit path) live here. An operation with an undo is in
the ledger from before it runs until its undo ran, so ``ha-tests heal`` can undo what a
runner killed with -9 left.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ha_tests.errors import HaTestsError, Interrupted
from ha_tests.operations.base import Operation, OperationResult

if TYPE_CHECKING:
    from ha_tests.events import EventLog
    from ha_tests.inventory import InventoryIdentity
    from ha_tests.ledger import Ledger
    from ha_tests.progress import Progress
    from ha_tests.scenario import PluginUse

OUTPUT_KEPT = 2000


def read_output(output: str, key: str) -> str | None:
    """``all``: the whole output, stripped; else the value of the table row named ``key``.

    The CLI's tables (``| key | value |``) are what Yardstick's ``return_parameter`` reads.
    """
    if key == "all":
        return output.strip()
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] == key:
            return cells[1]
    return None


class OperationSteps:
    def __init__(self, uses_and_operations: list[tuple[PluginUse, Operation]],
                 events: EventLog, progress: Progress, *, ledger: Ledger | None = None,
                 scenario: str = "", inventory: InventoryIdentity | None = None):
        self.items = uses_and_operations
        self.events = events
        self.progress = progress
        self.ledger, self.scenario, self.inventory = ledger, scenario, inventory
        self.variables: dict[str, str] = {}
        self.records: list[dict[str, Any]] = []
        self._done: list[tuple[PluginUse, Operation, int]] = []
        self._ledger_paths: dict[tuple[str, int], Path] = {}

    def preflight(self) -> None:
        for _use, operation in self.items:
            operation.preflight()

    def run_at(self, point: str, iteration: int) -> None:
        for use, operation in self.items:
            if use.spec.at == point:  # type: ignore[attr-defined]
                self._run_one(use, operation, iteration)

    def _run_one(self, use: PluginUse, operation: Operation, iteration: int) -> None:
        spec: Any = use.spec
        self.progress.phase("operate", operation.describe())
        if self.ledger is not None and operation.has_undo:
            assert self.inventory is not None, "a ledger needs the inventory's identity"
            self._ledger_paths[(use.name, iteration)] = self.ledger.record_undo(
                scenario=self.scenario, operation=use.name, plugin_type=use.type,
                params=operation.params.model_dump(mode="json"),
                nodes=[n.name for n in operation.nodes], inventory=self.inventory,
                timeout=operation.timeout, iteration=iteration, variables=dict(self.variables))
        started = time.monotonic()
        self._done.append((use, operation, iteration))
        result = _guarded(lambda: operation.run(self.variables))
        took = time.monotonic() - started
        record: dict[str, Any] = {"operation": use.name, "type": use.type, "at": spec.at,
                                  "iteration": iteration, "gate": spec.gate,
                                  "ok": result.ok, "took": round(took, 3),
                                  "output": result.output[-OUTPUT_KEPT:], **result.detail}
        if result.ok and spec.expect is not None:
            held, why = spec.expect.holds(result.output)
            record["check"] = why
            if not held:
                record["ok"] = False
                record["error"] = f"check failed: {why}"
        if result.ok:
            for name, key in spec.sets.items():
                value = read_output(result.output, key)
                if value is None or value == "":
                    record["ok"] = False
                    record["error"] = f"sets {name}: no '{key}' in its output"
                    continue
                self.variables[name] = value
                record.setdefault("set", {})[name] = value
        self.records.append(record)
        path = self._ledger_paths.get((use.name, iteration))
        if path is not None and self.ledger is not None:
            self.ledger.update_state(path, {"variables": dict(self.variables)})
        self.events.emit("operation", **record)  # whole: the summary is rebuilt from it
        verdict = "ok" if record["ok"] else f"FAILED: {record.get('error', '')}"
        self.progress.note(f"{use.name}: {verdict} ({took:.1f} s)")

    def undo(self, iteration: int) -> None:
        """Undo what this iteration's operations made, newest first; never raises."""
        while self._done and self._done[-1][2] == iteration:
            use, operation, _ = self._done.pop()
            started = time.monotonic()
            result = _guarded(lambda op=operation: op.undo(self.variables))
            path = self._ledger_paths.pop((use.name, iteration), None)
            if path is not None and self.ledger is not None:
                self.ledger.clear(path)  # tried: a failed undo is this run's to report
            if result is None:
                continue
            self.progress.phase("undo", f"{use.name}: " + ("ok" if result.ok else "FAILED"))
            entry = {"ok": result.ok, "took": round(time.monotonic() - started, 3),
                     **{k: v for k, v in result.detail.items() if k in ("rc", "error",
                                                                        "command")}}
            for record in reversed(self.records):
                if record["operation"] == use.name and record["iteration"] == iteration:
                    record["undo"] = entry
                    break
            self.events.emit("operation-undo", operation=use.name, iteration=iteration,
                             **entry)
            if not result.ok:
                self.progress.note(f"{use.name}: undo FAILED: {entry.get('error', '')}")


def _guarded(call) -> OperationResult | None:
    """An operation that raises is a failed operation, never a broken run."""
    try:
        return call()
    except Interrupted:
        raise  # Ctrl-C: the run ends (and the undo still runs on its way out)
    except HaTestsError as exc:
        return OperationResult(False, "", {"error": str(exc)[:300]})
    except Exception as exc:
        return OperationResult(False, "", {"error": f"{type(exc).__name__}: {exc}"[:300]})
