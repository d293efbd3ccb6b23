"""The run's history turned into its summary: events.jsonl in, summary.json out, nothing else.

Like a Jepsen checker re-run on a stored history, ``analyze`` reads only the events: the
runner writes history and calls it, ``ha-tests analyze DIR`` calls it again on a results
directory and gets the same summary. It is the only writer of summary.json. The iteration
boundaries (``Boundaries``) are read here once, for the metrics and the report alike, so the
picture and the numbers share one fault window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ha_tests import headline
from ha_tests.errors import InputError, Problem
from ha_tests.events import read_events
from ha_tests.masking import mask
from ha_tests.metrics import Sample, compute_monitor_metrics
from ha_tests.results import dirs_holding, junit_suite
from ha_tests.sampling import failure_reason
from ha_tests.summary import RunSummary
from ha_tests.verdict import judge_monitor, operation_failures

#: the phase events that bound an iteration, in the order the runner emits them
BOUNDARY_PHASES = {"baseline": "baseline_start", "inject": "t0", "rollback": "rollback_start",
                   "rolled-back": "rollback_done", "window-end": "window_end"}
ENVELOPE = ("seq", "kind", "mono", "wall")
UNDO_KEYS = ("ok", "took", "rc", "error", "command")


@dataclasses.dataclass
class Boundaries:
    """One iteration's instants on the monotonic clock, each from its own phase event.

    The fault window the metrics measure is [t0, window_end]; recovery after rollback counts
    from ``rollback_done`` (every fault rolled back and verified), the instant the report's
    fault band ends too.
    """

    iteration: int
    baseline_start: float | None = None
    t0: float | None = None
    rollback_start: float | None = None
    rollback_done: float | None = None
    window_end: float | None = None


def iteration_boundaries(events: list[dict[str, Any]]) -> list[Boundaries]:
    """The boundaries of every iteration the history holds, in iteration order."""
    found: dict[int, Boundaries] = {}
    for event in events:
        if event.get("kind") != "phase" or event.get("phase") not in BOUNDARY_PHASES:
            continue
        index = event.get("iteration", 0)
        bounds = found.setdefault(index, Boundaries(index))
        setattr(bounds, BOUNDARY_PHASES[event["phase"]], event["mono"])
    return [found[i] for i in sorted(found)]


def _one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next((e for e in events if e["kind"] == kind), {})


def _samples(events: list[dict[str, Any]], monitor: str, index: int) -> list[dict[str, Any]]:
    """A monitor's samples of one iteration, in the order the loop recorded them."""
    return [e for e in events if e["kind"] == "sample" and e.get("monitor") == monitor
            and e.get("iteration", 0) == index]


def _monitor_iteration(events, bounds: Boundaries, declared: dict[str, Any],
                       recovered_after: int) -> dict[str, Any]:
    recorded = _samples(events, declared["name"], bounds.iteration)
    samples = [Sample(e["start"], e["end"], e["ok"], e.get("status") or
                      ("ok" if e["ok"] else "fail"), e.get("latency")) for e in recorded]
    assert bounds.t0 is not None and bounds.window_end is not None
    metrics = compute_monitor_metrics(
        samples, t0=bounds.t0, window_end=bounds.window_end,
        baseline_start=bounds.baseline_start, rollback_at=bounds.rollback_done,
        recovered_after=recovered_after, interval=declared["interval"])
    verdicts = judge_monitor(metrics, declared["sla"]) if declared["gate"] else []
    failures = Counter(failure_reason(e.get("status") or "fail", e.get("detail") or {})
                       for e in recorded if not e["ok"])
    stopped = next((e for e in events if e["kind"] == "monitor-stopped"
                    and e.get("monitor") == declared["name"]
                    and e.get("iteration", 0) == bounds.iteration), {})
    return {"iteration": bounds.iteration, "metrics": metrics.to_dict(), "verdicts": verdicts,
            "missed_ticks": stopped.get("missed", 0),
            "failures": dict(failures.most_common())}


def _operations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records = [{k: v for k, v in e.items() if k not in ENVELOPE}
               for e in events if e["kind"] == "operation"]
    for undo in (e for e in events if e["kind"] == "operation-undo"):
        for record in reversed(records):
            if record["operation"] == undo["operation"] and \
                    record["iteration"] == undo["iteration"]:
                record["undo"] = {k: undo[k] for k in UNDO_KEYS if k in undo}
                break
    return records


def _rollbacks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for event in events:
        if event["kind"] != "attack" or event.get("action") not in ("rolled-back", "healed"):
            continue
        final = event["action"] == "healed"
        entry: dict[str, Any] = {"attacker": event["attacker"], "final": final}
        if not final:
            entry["detail"] = event.get("detail")
        entry["ok"] = event["ok"]
        if event.get("error") is not None:
            entry["error"] = event["error"]
        entries.append(entry)
    return entries


def summarize(events: list[dict[str, Any]]) -> RunSummary:
    """The summary of a run from its history alone (masked, as every door reads it)."""
    start, end = _one(events, "run-start"), _one(events, "run-end")
    if not start:
        raise ValueError("the history has no run-start event")
    status, error = end.get("status", "interrupted"), end.get("error")
    if not end:  # the runner died before it finished: say so, do not guess a verdict
        error = "the run ended without a run-end event (killed?)"
    timing = start.get("timing") or {}
    monitors_out: dict[str, Any] = {}
    broken: list[str] = []
    for bounds in iteration_boundaries(events):
        if bounds.t0 is None or bounds.window_end is None:
            continue  # the iteration stopped before its injection: nothing to measure
        for declared in start.get("monitors", []):
            result = _monitor_iteration(events, bounds, declared,
                                        timing.get("recovered_after", 3))
            entry = monitors_out.setdefault(declared["name"], {
                "type": declared["type"], "gate": declared["gate"], "sla": declared["sla"],
                "iterations": []})
            entry["iterations"].append(result)
            broken += [f"{declared['name']}: {v['message']}" for v in result["verdicts"]
                       if not v["pass"]]
    operations = _operations(events)
    broken += operation_failures(operations)
    rollback = _rollbacks(events)
    last_word = {r["attacker"]: r for r in rollback}  # the final heal decides
    if any(not r["ok"] for r in last_word.values()):
        status = "rollback-failed"
    elif status == "pass" and (broken or error):
        status = "fail"
    finished = end.get("wall")
    summary = {
        "scenario": start["scenario"],
        "description": start.get("description"),
        "gap": start["gap"],
        "tags": start.get("tags", []),
        "file": start.get("file"),
        "status": status,
        "error": error,
        "skip_reason": end.get("skip_reason"),
        "sla_failures": broken,
        "inventory": start.get("inventory"),
        "targets": _one(events, "targets").get("targets", {}),
        "seed": start.get("seed"),
        "attackers": _one(events, "attackers").get("attackers", []),
        "rollback": rollback,
        "monitors": monitors_out,
        "operations": operations,
        "timing": timing,
        "versions": {"ha-tests": start.get("version")},
        "finished": None if finished is None else
        dt.datetime.fromtimestamp(finished, dt.UTC).isoformat(),
    }
    # the gap area's answer, from the scenario's 'headline:' as the run-start recorded it
    summary["headline"] = headline.compute(start.get("headline"), summary, events)
    return RunSummary.model_validate(mask(summary))


def analyze(result_dir: Path) -> RunSummary:
    """Rebuild summary.json and junit.xml of ``result_dir`` from its events.jsonl."""
    result_dir = Path(result_dir)
    path = result_dir / "events.jsonl"
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "", "no events.jsonl here",
                                 "pass a scenario's results directory written by "
                                 "'ha-tests run' (it holds events.jsonl)"))
    try:
        summary = summarize(read_events(path))
    except (KeyError, ValueError) as exc:
        raise InputError(Problem(str(path), None, None, "", f"not a run's history ({exc})",
                                 "pass an events.jsonl written by ha-tests")) from None
    write_summary(result_dir, summary)
    return summary


def write_summary(result_dir: Path, summary: RunSummary | dict[str, Any]) -> None:
    """summary.json and junit.xml, masked and through the model: the one place either is
    written."""
    data = summary.to_json() if isinstance(summary, RunSummary) else summary
    summary = RunSummary.of(mask(data))
    (result_dir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    junit_suite([summary]).write(str(result_dir / "junit.xml"), pretty=True)


def history_dirs(paths: list[Path]) -> list[Path]:
    """Scenario results directories under ``paths`` that hold a history (an events.jsonl,
    maybe no summary yet)."""
    return dirs_holding(paths, "events.jsonl", "run history")

