"""A scenario's results directory read back: its summary and its event history, per iteration.

Times in a report are seconds from the iteration's injection (t0, the ``inject`` phase event),
the origin the metrics in summary.json use too, so bands and samples line up without
conversion.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ha_tests.analysis import iteration_boundaries
from ha_tests.events import read_events
from ha_tests.results import dirs_holding, load_summary
from ha_tests.summary import RunSummary


@dataclasses.dataclass
class IterationView:
    """One iteration of a scenario: its samples and attack events, on the t0 time axis."""

    index: int
    t0: float  # monotonic time of injection
    wall_t0: float | None
    fault_end: float | None  # seconds after t0 when every fault was rolled back and verified
    window_end: float | None  # seconds after t0 when the metrics' fault window ended
    samples: dict[str, list[dict[str, Any]]]  # monitor -> samples with start/end relative t0
    attacks: list[dict[str, Any]]  # attack events with "t" relative t0


@dataclasses.dataclass
class RunRecord:
    directory: Path
    summary: RunSummary
    events: list[dict[str, Any]]

    @property
    def scenario(self) -> str:
        return self.summary.scenario

    @property
    def finished(self) -> str:
        return self.summary.finished or ""

    def iterations(self) -> list[IterationView]:
        """Split the history at each injection. An iteration's attack events are those from
        its injection to the next one (the final heal belongs to the last iteration);
        samples carry their iteration, baseline samples included (at negative times)."""
        injects = [e for e in self.events if e["kind"] == "phase" and e.get("phase") == "inject"]
        bounds = {b.iteration: b for b in iteration_boundaries(self.events)}
        views = []
        for position, inject in enumerate(injects):
            index, t0 = inject.get("iteration", 0), inject["mono"]
            until = injects[position + 1]["mono"] if position + 1 < len(injects) else float("inf")
            samples: dict[str, list[dict[str, Any]]] = {}
            attacks: list[dict[str, Any]] = []
            # the instants the metrics use (ha_tests.analysis); older histories lack them
            own = bounds.get(index)
            fault_end = None if own is None or own.rollback_done is None \
                else own.rollback_done - t0
            window_end = None if own is None or own.window_end is None \
                else own.window_end - t0
            old_history = own is None or own.window_end is None
            for event in self.events:
                kind = event["kind"]
                if kind == "sample" and event.get("iteration", 0) == index:
                    samples.setdefault(event["monitor"], []).append({
                        "start": event["start"] - t0, "end": event["end"] - t0,
                        "status": event.get("status") or ("ok" if event.get("ok") else "fail"),
                        "latency": event.get("latency")})
                elif kind == "attack" and t0 <= event["mono"] < until:
                    attacks.append({**event, "t": event["mono"] - t0})
                    if old_history and event.get("action") == "rolled-back" \
                            and fault_end is None:
                        fault_end = event["mono"] - t0
                elif old_history and kind == "phase" and event.get("phase") == "iteration-end" \
                        and event.get("iteration", 0) == index:
                    window_end = event["mono"] - t0
            views.append(IterationView(index, t0, inject.get("wall"), fault_end, window_end,
                                       samples, attacks))
        return views


def load_run(directory: Path) -> RunRecord:
    directory = Path(directory)
    events_path = directory / "events.jsonl"
    events = read_events(events_path) if events_path.is_file() else []
    return RunRecord(directory, load_summary(directory), events)


def find_result_dirs(paths: list[Path]) -> list[Path]:
    """Scenario result directories named by ``paths`` (each holds a summary.json)."""
    return dirs_holding(paths, "summary.json")


def load_runs(paths: list[Path]) -> list[RunRecord]:
    return [load_run(d) for d in find_result_dirs(paths)]
