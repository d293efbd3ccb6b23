"""Across runs: recovery time per scenario over time, and what changed between two runs.

A change only counts as better or worse when the bounds say so (the two runs' intervals do
not overlap); otherwise it is "within measurement error" — a report must not sell noise as
progress.
"""

from __future__ import annotations

import dataclasses
import math

import plotly.graph_objects as go

from ha_tests.report.records import RunRecord
from ha_tests.results import worst_availability
from ha_tests.summary import Interval, RunSummary, Status


def worst_gated(summary: RunSummary, key: str) -> Interval | None:
    """The worst (highest upper bound; unbounded is worst of all) value of ``key`` among
    gated monitors' iterations, the first one on a tie."""
    found = [value for _, _, iteration in summary.gated()
             if (value := getattr(iteration.metrics, key)) is not None]
    return max(found, key=_hi, default=None)


def by_scenario(records: list[RunRecord]) -> dict[str, list[RunRecord]]:
    grouped: dict[str, list[RunRecord]] = {}
    for record in sorted(records, key=lambda r: r.finished):
        grouped.setdefault(record.scenario, []).append(record)
    return grouped


def trend_figure(scenario: str, runs: list[RunRecord]) -> go.Figure:
    """Recovery time (with its bounds as error bars) per run, oldest first."""
    points = [(r, worst_gated(r.summary, "recovery_time")) for r in runs]
    xs = [r.finished[:19].replace("T", " ") or r.directory.name for r, _ in points]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=xs, y=[v.value if v else None for _, v in points], mode="lines+markers",
        name="recovery time",
        error_y={"type": "data", "symmetric": False,
                 "array": [v.hi - v.value if v else 0 for _, v in points],
                 "arrayminus": [v.value - v.lo if v else 0 for _, v in points]},
        text=[str(r.summary.status) for r, _ in points],
        hovertemplate="%{x}: %{y:.2f} s (%{text})<extra></extra>"))
    figure.update_layout(title={"text": f"{scenario}: recovery time across runs", "x": 0},
                         yaxis_title="seconds", height=320, template="plotly_white",
                         margin={"l": 60, "r": 30, "t": 60, "b": 60})
    return figure


@dataclasses.dataclass
class Change:
    scenario: str
    measure: str
    before: Interval | None
    after: Interval | None
    verdict: str  # better | worse | same (within error) | new | gone | n/a

    @property
    def delta(self) -> float | None:
        if self.before and self.after:
            return self.after.value - self.before.value
        return None

    def text(self) -> str:
        scale, unit = (100, " %") if self.measure == "availability" else (1, " s")

        def show(v: Interval | None) -> str:
            if not v:
                return "-"
            return f"{scale * v.value:.2f}{unit} ± {scale * (v.error or 0):.2f}"
        delta = self.delta
        change = "" if delta is None else f" ({scale * delta:+.2f}{unit}"
        if delta is not None and self.before and self.before.value:
            change += f", {100 * delta / self.before.value:+.0f} %"
        change += ")" if change else ""
        return f"{show(self.before)} -> {show(self.after)}{change}"


LOWER_IS_BETTER = ("recovery_time", "longest_outage", "detection_time")


def _judge(measure: str, before: Interval | None, after: Interval | None) -> str:
    if before is None and after is None:
        return "n/a"
    if before is None:
        return "new"
    if after is None:
        return "gone"
    lower_better = measure in LOWER_IS_BETTER
    if _hi(after) < _lo(before):
        return "better" if lower_better else "worse"
    if _lo(after) > _hi(before):
        return "worse" if lower_better else "better"
    return "same (within error)"


def compare(before: list[RunRecord], after: list[RunRecord]) -> list[Change]:
    """Per scenario (the latest run of it on each side), what moved and which way."""
    latest_a = {s: runs[-1] for s, runs in by_scenario(before).items()}
    latest_b = {s: runs[-1] for s, runs in by_scenario(after).items()}
    changes = []
    for scenario in sorted(set(latest_a) | set(latest_b)):
        a, b = latest_a.get(scenario), latest_b.get(scenario)
        if a is None or b is None:
            changes.append(Change(scenario, "status", None, None,
                                  "new" if a is None else "gone"))
            continue
        for measure in LOWER_IS_BETTER:
            va, vb = worst_gated(a.summary, measure), worst_gated(b.summary, measure)
            changes.append(Change(scenario, measure, va, vb, _judge(measure, va, vb)))
        va, vb = worst_availability(a.summary), worst_availability(b.summary)
        changes.append(Change(scenario, "availability", va, vb, _judge("availability", va, vb)))
        was, now = a.summary.status, b.summary.status
        if was != now:
            order = {Status.PASS: 0, Status.SKIPPED: 1, Status.FAIL: 2, Status.ERROR: 3}
            worse = order.get(now, 3) > order.get(was, 3)
            changes.append(Change(scenario, f"verdict {was} -> {now}", None, None,
                                  "worse" if worse else "better"))
    return changes


def format_changes(changes: list[Change]) -> str:
    if not changes:
        return "nothing to compare: no scenario ran on both sides"
    lines = []
    for change in changes:
        if change.verdict == "n/a":
            continue
        body = change.text() if change.before or change.after else ""
        lines.append(f"{change.verdict.upper():<20} {change.scenario:<32} {change.measure:<22} "
                     f"{body}".rstrip())
    return "\n".join(lines)


# -- this run against the last N ------------------------------------------------------------
def _lo(bounded: Interval) -> float:
    return -math.inf if bounded.lo is None else bounded.lo


def _hi(bounded: Interval) -> float:
    return math.inf if bounded.hi is None else bounded.hi


@dataclasses.dataclass
class Trend:
    """A scenario's recovery in this run against its last runs.

    ``change`` is the interval of "this run minus the earlier ones": its lower bound is this
    run's lowest possible recovery less the highest any earlier run allows, so "regressed"
    (lower bound above zero) means this run's interval lies above every earlier interval.
    """

    scenario: str
    gap: str
    current: Interval | None
    earlier: list[Interval]
    verdict: str  # regressed | improved | no change | no history | no figure
    #: this run minus the earlier ones (value: against their mean; lo, hi: as above)
    change: Interval | None

    def text(self) -> str:
        def shown(x: float | None) -> str:
            return "unbounded" if x is None or not math.isfinite(x) else f"{x:.2f} s"

        runs = f"the last {len(self.earlier)} run{'s' if len(self.earlier) != 1 else ''}"
        if self.verdict == "no history":
            return f"{self.scenario}: recovery: no earlier run with a recovery time to compare"
        if self.verdict == "no figure":
            return f"{self.scenario}: recovery: this run has no recovery time to compare"
        assert self.current is not None and self.change is not None
        now = _bounded_text(self.current)
        before = f"{shown(min(_lo(e) for e in self.earlier))}–" \
                 f"{shown(max(_hi(e) for e in self.earlier))}"
        change = self.change
        if self.verdict == "regressed":
            return (f"{self.scenario}: recovery REGRESSED by {shown(change.value)} "
                    f"(at least {shown(change.lo)}): {now} now, {before} in {runs}")
        if self.verdict == "improved":
            return (f"{self.scenario}: recovery improved by {shown(-change.value)} "
                    f"(at least {shown(-change.hi)}): {now} now, {before} in {runs}")
        return (f"{self.scenario}: recovery: no change ({now} now overlaps {before} in {runs})")


def _bounded_text(bounded: Interval) -> str:
    error = bounded.error
    return f"{bounded.value:.2f} s" + ("" if error is None else f" ± {error:.2f}")


def against_last(current: RunRecord, history: list[RunRecord], last: int) -> Trend:
    """``current``'s recovery against the last ``last`` runs of its scenario in ``history``
    that finished before it (the current run itself is never its own history)."""
    scenario, gap = current.scenario, current.summary.gap
    earlier_runs = [r for r in by_scenario(history).get(scenario, [])
                    if r.finished < current.finished and r.directory != current.directory]
    earlier = [v for v in (worst_gated(r.summary, "recovery_time")
                           for r in earlier_runs[-last:] if last > 0) if v]
    now = worst_gated(current.summary, "recovery_time")
    if not now or now.value is None:
        return Trend(scenario, gap, now, earlier, "no figure", None)
    if not earlier:
        return Trend(scenario, gap, now, earlier, "no history", None)
    mean = sum(e.value for e in earlier) / len(earlier)
    change = Interval(value=now.value - mean, lo=_lo(now) - max(_hi(e) for e in earlier),
                      hi=_hi(now) - min(_lo(e) for e in earlier))
    verdict = ("regressed" if _lo(change) > 0 else "improved" if _hi(change) < 0
               else "no change")
    return Trend(scenario, gap, now, earlier, verdict, change)


def format_trends(trends: list[Trend], last: int) -> str:
    if not trends:
        return ""
    return "\n".join([f"against the last {last} runs (recovery; a change counts only when the "
                      "bounds do not overlap):", *(f"  {t.text()}" for t in trends)])
