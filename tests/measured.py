"""What ha-tests guarantees of a run against the lab, whatever the cloud's timing.

A scenario's SLA verdict (pass or fail) says how fast the cloud under test recovered; on a
loaded 2-core machine that varies from run to run, and it belongs to the scenario's user and to
benchmarks, never to a test. What a test pins is the tool's own promise: the run measured (it
ended pass or fail, not in error), the fault really happened, it was rolled back, every figure
lies within its own bounds, and the run either saw the recovery or says why not.
"""

from __future__ import annotations

import math
from typing import Any

from ha_tests.summary import RunSummary

MEASURED = ("pass", "fail")
BOUNDED = ("total_downtime", "longest_outage", "detection_time", "recovery_time",
           "recovery_after_rollback", "availability")


def assert_measured(summary: RunSummary | dict[str, Any],
                    events: list[dict[str, Any]] | None = None, output: str = "") -> None:
    if isinstance(summary, RunSummary):
        summary = summary.to_json()  # checked as the file holds it
    name = summary.get("scenario")
    context = f"{name}: {summary.get('status')}: {summary.get('error')}\n{output}"
    assert summary["status"] in MEASURED, context
    assert summary["rollback"] and all(r["ok"] for r in summary["rollback"]), (
        summary["rollback"], context)
    if summary["status"] == "fail":
        assert summary["sla_failures"] or summary["error"], f"{name}: failed and says not why"
    if events is not None:
        injected = {e["attacker"] for e in events if e.get("action") == "injected"}
        assert injected == {a["name"] for a in summary["attackers"]}, (injected, context)
    timeouts = {e.get("iteration") for e in events or () if e.get("kind") == "recovery-timeout"}
    for monitor, entry in summary["monitors"].items():
        for iteration in entry["iterations"]:
            metrics = iteration["metrics"]
            assert metrics["sample_count"] > 0, f"{name}/{monitor}: no sample taken"
            for key in BOUNDED:
                figure = metrics.get(key)
                if figure and figure["value"] is not None and figure["hi"] is not None \
                        and math.isfinite(figure["hi"]):
                    assert figure["lo"] - 1e-9 <= figure["value"] <= figure["hi"] + 1e-9, (
                        f"{name}/{monitor}: {key} {figure} outside its own bounds")
            if entry["gate"] and metrics["outage_count"] and not metrics["recovered"]:
                said = iteration["iteration"] in timeouts or iteration.get("failures")
                assert said, f"{name}/{monitor}: not recovered, and the run says not why"


def injected_pids(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """PIDs each kill took, by node: a kill that found nothing did not fault anything."""
    for event in events:
        if event.get("action") == "injected":
            return event["detail"].get("pids") or {}
    return {}
