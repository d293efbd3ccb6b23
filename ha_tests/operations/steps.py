"""A scenario's operations in one iteration: run each at its point, check, set, undo.

Kept out of the runner so the runner only says *when* ("after-inject"); what an operation's
record holds, how ``expect:`` and ``sets:`` read its output and that every operation that
ran is undone (newest first, on every exit path) live here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ha_tests.errors import HaTestsError, Interrupted
from ha_tests.operations.base import Operation, OperationResult

if TYPE_CHECKING:
    from ha_tests.events import EventLog
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
                 events: EventLog, progress: Progress):
        self.items = uses_and_operations
        self.events = events
        self.progress = progress
        self.variables: dict[str, str] = {}
        self.records: list[dict[str, Any]] = []
        self._done: list[tuple[PluginUse, Operation, int]] = []

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
        started = time.monotonic()
        result = _guarded(lambda: operation.run(self.variables))
        took = time.monotonic() - started
        self._done.append((use, operation, iteration))
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
        self.events.emit("operation", **{k: v for k, v in record.items() if k != "output"},
                         output=record["output"][-500:])
        verdict = "ok" if record["ok"] else f"FAILED: {record.get('error', '')}"
        self.progress.note(f"{use.name}: {verdict} ({took:.1f} s)")

    def undo(self, iteration: int) -> None:
        """Undo what this iteration's operations made, newest first; never raises."""
        while self._done and self._done[-1][2] == iteration:
            use, operation, _ = self._done.pop()
            started = time.monotonic()
            result = _guarded(lambda op=operation: op.undo(self.variables))
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

    def failures(self) -> list[str]:
        """What fails the run: a gating operation or check that did not pass, a failed undo."""
        found = []
        for record in self.records:
            label = f"operation {record['operation']}"
            if len({r['iteration'] for r in self.records}) > 1:
                label += f" (iteration {record['iteration']})"
            if not record["ok"] and record["gate"]:
                found.append(f"{label}: {record.get('error', 'failed')}")
            undo = record.get("undo")
            # after a failed operation there may be nothing to undo: only its own failure counts
            if undo is not None and not undo["ok"] and record["ok"]:
                found.append(f"{label}: undo failed: {undo.get('error', '')}")
        return found


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
