"""SLA verdicts judged on the worst case the samples allow, never on a lucky midpoint.

A limit passes only when the bound that matters (the upper bound of a time, the lower bound
of availability) is within it: "recovered in 4.9 s ± 0.3 s" does not pass a 5 s limit.
"""

from __future__ import annotations

from typing import Any


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.2f} s"


def judge_monitor(metrics: Any, limits: dict[str, float]) -> list[dict[str, Any]]:
    verdicts = []

    def add(limit: str, ok: bool, measured: Any, message: str) -> None:
        verdicts.append({"limit": limit, "threshold": limits[limit], "pass": ok,
                         "measured": measured, "message": message})

    if "max_detection" in limits and metrics.detection_time is not None:
        worst = metrics.detection_time.hi
        add("max_detection", worst <= limits["max_detection"], str(metrics.detection_time),
            f"detection {metrics.detection_time} (worst {_seconds(worst)}) vs limit "
            f"{_seconds(limits['max_detection'])}")
    if "max_outage" in limits and metrics.longest_outage is not None:
        worst = metrics.longest_outage.hi
        add("max_outage", worst <= limits["max_outage"], str(metrics.longest_outage),
            f"longest outage {metrics.longest_outage} (worst {_seconds(worst)}) vs limit "
            f"{_seconds(limits['max_outage'])}"
            + (f": over by {_seconds(worst - limits['max_outage'])}"
               if worst > limits["max_outage"] else ""))
    if "max_recovery" in limits:
        if metrics.outage_count and not metrics.recovered:
            add("max_recovery", False, None, "never recovered within the observation window")
        elif metrics.recovery_time is not None:
            worst = metrics.recovery_time.hi
            add("max_recovery", worst <= limits["max_recovery"], str(metrics.recovery_time),
                f"recovery {metrics.recovery_time} (worst {_seconds(worst)}) vs limit "
                f"{_seconds(limits['max_recovery'])}"
                + (f": over by {_seconds(worst - limits['max_recovery'])}"
                   if worst > limits["max_recovery"] else ""))
    if "min_availability" in limits and metrics.availability is not None:
        worst = metrics.availability.lo
        add("min_availability", worst >= limits["min_availability"], str(metrics.availability),
            f"availability at worst {worst:.4f} vs minimum {limits['min_availability']:.4f}")
    if "max_degradation" in limits and metrics.degradation is not None:
        worst = metrics.degradation.hi
        add("max_degradation", worst <= limits["max_degradation"],
            metrics.degradation.to_dict(),
            f"latency during the fault at worst {100 * worst:+.0f} % of the baseline's "
            f"median vs limit {100 * limits['max_degradation']:+.0f} %")
    if "max_errors" in limits:
        add("max_errors", metrics.error_count <= limits["max_errors"], metrics.error_count,
            f"{metrics.error_count} failed samples vs limit {int(limits['max_errors'])}")
    return verdicts


def operation_failures(records: list[dict[str, Any]]) -> list[str]:
    """What fails the run: a gating operation or check that did not pass, a failed undo."""
    found = []
    several = len({r["iteration"] for r in records}) > 1
    for record in records:
        label = f"operation {record['operation']}"
        if several:
            label += f" (iteration {record['iteration']})"
        if not record["ok"] and record["gate"]:
            found.append(f"{label}: {record.get('error', 'failed')}")
        undo = record.get("undo")
        # after a failed operation there may be nothing to undo: only its own failure counts
        if undo is not None and not undo["ok"] and record["ok"]:
            found.append(f"{label}: undo failed: {undo.get('error', '')}")
    return found
