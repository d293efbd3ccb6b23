"""The answer to each gap area's question, computed from a run's history.

A gap area asks one question (../GAPS.md: "Headline"); the worst gated monitor's outage does
not answer it, since the monitors that carry the answer (what the cloud *published*, where it
*disagreed* with the truth) observe without gating. Each kind below reads the samples of
events.jsonl (with their details) and the run's phase events, and returns a figure with
bounds and a verdict in words. Pure functions of the history: the runner calls ``compute``
once the log is closed, and the tables only print what it stored in summary.json.

Kinds (a scenario's ``headline: {kind: ...}``; the default follows its gap area):

* ``published-status`` (gap-1): when the cloud published the service down (os-services), and
  up again after the rollback; whether a ``service.update`` notification came, and when.
* ``disagreement`` (gap-2): the windows in which the cloud's view contradicted the ground
  truth ("down" while the host was up, "up" while it was off); the gap present or absent.
* ``token-survival`` (gap-3): the share of tokens that stayed valid, and the validation outage.
* ``volume-service`` (gap-4): volume operations' outage, errors and recovery, labelled with
  the backend's kind (A/A, A/P) so the two runs sit side by side.
* ``takeover`` (gap-5): how long the survivors were unreachable; lost writes are "not
  measured (control plane only)" while the volume backend has no data path.
* ``worst-outage`` (classic): the longest outage of the gated monitors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ha_tests.bounded import Bounded, duration_between
from ha_tests.metrics import OutageWindow, Sample, outage_windows

KINDS = ("published-status", "disagreement", "token-survival", "volume-service", "takeover",
         "worst-outage")
#: the kind a gap area's scenarios get unless they declare one
DEFAULT_KIND = {"gap-1": "published-status", "gap-2": "disagreement",
                "gap-3": "token-survival", "gap-4": "volume-service", "gap-5": "takeover"}
#: the monitor type that carries each kind's answer (the first of it, unless named)
MONITOR_TYPE = {"published-status": "service-status", "disagreement": "host-status",
                "token-survival": "token-validity", "volume-service": "volume-cycle",
                "takeover": "vm-ping", "notifications": "service-notifications"}
NOT_SEEN = "< one interval, not seen"


@dataclass
class Headline:
    """What one run found about its gap area: a short figure, a sentence, the numbers."""

    kind: str
    figure: str
    verdict: str
    values: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "figure": self.figure, "verdict": self.verdict,
                "values": self.values, "label": self.label}


# -- reading the history ---------------------------------------------------------------------

@dataclass(frozen=True)
class Iteration:
    """The instants of one iteration: injection, start of rollback, end of observation."""

    index: int
    t0: float
    rollback_at: float | None
    end: float | None


def iterations(events: Iterable[dict[str, Any]]) -> list[Iteration]:
    found: dict[int, dict[str, float]] = {}
    current: int | None = None
    for event in events:
        kind = event.get("kind")
        if kind == "phase" and event.get("phase") == "inject":
            current = event.get("iteration", 0)
            found[current] = {"t0": event["mono"]}
        elif kind == "attack" and event.get("action") == "rollback-start" \
                and current is not None:
            found[current].setdefault("rollback_at", event["mono"])
        elif kind == "phase" and event.get("phase") == "iteration-end" and current is not None:
            found[current]["end"] = event["mono"]
            current = None
    return [Iteration(i, v["t0"], v.get("rollback_at"), v.get("end"))
            for i, v in sorted(found.items())]


def samples_of(events: Iterable[dict[str, Any]], monitor: str,
               iteration: int) -> list[dict[str, Any]]:
    return sorted((e for e in events if e.get("kind") == "sample"
                   and e.get("monitor") == monitor and e.get("iteration", 0) == iteration),
                  key=lambda e: (e["start"], e["end"]))


def as_samples(records: Iterable[dict[str, Any]], ok=None) -> list[Sample]:
    """Samples for the metrics; ``ok`` (a predicate on the record) replaces the probe's own."""
    return [Sample(r["start"], r["end"], r["ok"] if ok is None else bool(ok(r)),
                   r.get("status", "ok") if ok is None else ("ok" if ok(r) else "fail"))
            for r in records]


# -- printing bounds -------------------------------------------------------------------------

def seconds_text(bounded: Bounded | dict[str, Any] | None) -> str:
    """A time with its bound; a range when the bound says more than "value ± error" would
    (low end 0, or the error over half the value): ``0-4.0 s``, not ``2.01 s ± 2.01``."""
    if bounded is None:
        return "-"
    if isinstance(bounded, dict):
        lo = -math.inf if bounded.get("lo") is None else bounded["lo"]
        hi = math.inf if bounded.get("hi") is None else bounded["hi"]
        bounded = Bounded(lo, hi)
    lo, hi = bounded.lo, bounded.hi
    if not math.isfinite(hi):
        return f"≥ {max(lo, 0.0):.1f} s" if math.isfinite(lo) else "unbounded"
    if not math.isfinite(lo):
        return f"≤ {hi:.1f} s"
    value, error = bounded.value, bounded.error
    if _short(hi) == "0":  # at the first sample after t0 (or before it): no range to show
        return "0 s (at once)"
    if lo <= 0 or error > value / 2:
        return f"{_short(lo)}-{_short(hi)} s"
    digits = 2 if error < 0.05 else 1
    scale = 10 ** digits  # the error rounds up, so the printed interval still holds the truth
    return f"{value:.{digits}f} s ± {math.ceil(error * scale - 1e-9) / scale:.{digits}f}"


def _short(x: float) -> str:
    return "0" if x < 0.005 else f"{x:.2f}" if x < 1 else f"{x:.1f}"


# -- the kinds -------------------------------------------------------------------------------

def _first_window_after(windows: list[OutageWindow], t0: float) -> OutageWindow | None:
    later = [w for w in windows if w.end is None or w.end.hi > t0]
    return later[0] if later else None


def published_status(events: list[dict[str, Any]], it: Iteration, monitor: str,
                     notifications: str | None) -> Headline:
    windows = outage_windows(as_samples(samples_of(events, monitor, it.index)))
    down = _first_window_after(windows, it.t0)
    values: dict[str, Any] = {}
    words = []
    if down is None:
        figure = "down never published"
        words.append(f"the cloud never published the service down ({monitor})")
    else:
        published = duration_between(it.t0, down.begin)
        values["down_published"] = published.to_dict()
        figure = f"down after {seconds_text(published)}"
        words.append(f"the cloud published 'down' {seconds_text(published)} after the fault")
        if down.end is not None and it.rollback_at is not None:
            back = duration_between(it.rollback_at, down.end)
            values["up_published"] = back.to_dict()
            figure += f", up {seconds_text(back)} after restart"
            words.append(f"'up' again {seconds_text(back)} after the service was restarted")
        else:
            words.append("it never published 'up' again while observed")
    if notifications:
        seen = _first_notification(samples_of(events, notifications, it.index), it.t0)
        if seen is None:
            observed = (it.end or it.t0) - it.t0
            values["notification"] = None
            figure += "; no notification"
            words.append(f"no service.update notification seen in {observed:.0f} s")
        else:
            values["notification"] = seen.to_dict()
            figure += f"; notified after {seconds_text(seen)}"
            words.append(f"a service.update notification came {seconds_text(seen)} after "
                         "the fault")
    return Headline("published-status", figure, "; ".join(words), values)


def _first_notification(records: list[dict[str, Any]], t0: float) -> Bounded | None:
    """When the first notification after t0 arrived: after the start of the last sample that
    counted fewer, before the end of the first that counted more."""
    before_count, before_start = 0, t0
    for record in records:
        count = (record.get("detail") or {}).get("notifications")
        if count is None:
            continue
        if record["start"] < t0:
            before_count, before_start = count, t0
            continue
        if count > before_count:
            return duration_between(t0, Bounded(before_start, max(before_start, record["end"])))
        before_start = record["start"]
    return None


def _disagrees(record: dict[str, Any]) -> bool:
    return bool((record.get("detail") or {}).get("cloud_disagrees"))


def _informative(record: dict[str, Any]) -> bool:
    """Both views known: the cloud said up or down, and the host was surely up or surely off.

    A probe whose BMC, ping or SSH check gave no answer in time (a loaded runner) says
    nothing either way; counting it as agreement would split one disagreement in two.
    Leaving it out assumes what the outage metrics assume: no change went unobserved
    between the probes either side of it.
    """
    detail = record.get("detail") or {}
    if (detail.get("cloud") or {}).get("state") not in ("up", "down"):
        return False
    if detail.get("host_up"):
        return True
    return detail.get("power") == "off" or (detail.get("power") is None
                                            and detail.get("ping") is False
                                            and detail.get("ssh") is False)


def disagreement(events: list[dict[str, Any]], it: Iteration, monitor: str) -> Headline:
    records = [r for r in samples_of(events, monitor, it.index) if _informative(r)]
    samples = as_samples(records, ok=lambda r: not _disagrees(r))
    windows = [w for w in outage_windows(samples) if w.end is None or w.end.hi > it.t0]
    by_sample = {(r["start"], r["end"]): r for r in records}
    said_down: list[OutageWindow] = []
    said_up: list[OutageWindow] = []
    for window in windows:
        host_up = [(by_sample[(s.start, s.end)].get("detail") or {}).get("host_up")
                   for s in window.run]
        (said_down if sum(1 for u in host_up if u) * 2 >= len(host_up) else said_up) \
            .append(window)
    values: dict[str, Any] = {"gap_present": bool(windows)}
    parts, words = [], []
    for name, found, text in (("said_down_while_up", said_down, "'down' while the host was up"),
                              ("said_up_while_off", said_up, "'up' while the host was off")):
        if not found:
            continue
        longest = max(found, key=lambda w: w.min_duration)
        length = longest.duration
        shown = seconds_text(length) if length is not None else \
            f"≥ {longest.min_duration:.1f} s (still so at the end)"
        values[name] = (length.to_dict() if length is not None
                        else {"lo": longest.min_duration, "hi": None, "value": None,
                              "error": None})
        parts.append(f"{name.replace('_', ' ')} {shown}")
        words.append(f"the cloud said {text} for {shown}")
    if not windows:
        checked = sum(1 for r in records if r["start"] >= it.t0)
        return Headline("disagreement", "gap absent: no disagreement seen",
                        f"the cloud's view agreed with the ground truth in all {checked} "
                        "samples of the fault window", values)
    return Headline("disagreement", "gap present: " + "; ".join(parts),
                    "gap present: " + "; ".join(words), values)


def token_survival(events: list[dict[str, Any]], it: Iteration, monitor: str,
                   metrics: dict[str, Any] | None) -> Headline:
    records = [r for r in samples_of(events, monitor, it.index) if r.get("detail")]
    total = next((r["detail"].get("total") for r in records if r["detail"].get("total")), None)
    lost = max((r["detail"].get("lost", 0) for r in records), default=0)
    values: dict[str, Any] = {"tokens": total, "lost": lost}
    outage = _outage_text(metrics)
    if total is None:
        return Headline("token-survival", "no token validated", "no sample validated a "
                        "token", values)
    values["stayed_valid"] = round(1 - lost / total, 4)
    figure = f"{total - lost}/{total} tokens stayed valid; validation outage {outage}"
    return Headline("token-survival", figure,
                    f"{total - lost} of {total} tokens issued before the fault stayed valid "
                    f"({100 * (1 - lost / total):.0f} %); validation outage {outage}", values)


def _outage_text(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return "-"
    if not metrics.get("outage_count"):
        return NOT_SEEN
    return seconds_text(metrics.get("longest_outage"))


def volume_service(metrics: dict[str, Any] | None, label: str | None,
                   rollback_after: float | None) -> Headline:
    if not metrics:
        return Headline("volume-service", "no volume operation sampled", "no samples",
                        label=label)
    outage = _outage_text(metrics)
    errors = metrics.get("error_count", 0)
    recovery = metrics.get("recovery_time")
    values = {"outage": metrics.get("longest_outage"), "errors": errors, "recovery": recovery}
    who = f"{label}: " if label else ""
    held = f" (cinder-volume down {rollback_after:.0f} s)" if rollback_after else ""
    if not metrics.get("outage_count"):
        return Headline("volume-service", f"{who}no volume-operation outage{held}",
                        f"{who}volume create/delete went on throughout{held}; "
                        f"{errors} errors", values, label)
    back = (f"recovered {seconds_text(recovery)}" if recovery
            else "not recovered while observed")
    figure = f"{who}outage {outage}, {errors} errors, {back}"
    return Headline("volume-service", figure + held,
                    f"{who}volume operations failed for {outage} ({errors} failed samples)"
                    f"{held}; {back}" + (" after the fault" if recovery else ""), values, label)


def takeover(metrics: dict[str, Any] | None, data_side: bool) -> Headline:
    outage = _outage_text(metrics)
    values = {"takeover": None if not metrics else metrics.get("longest_outage"),
              "lost_writes": None}
    tail = "" if data_side else "; lost writes not measured (control plane only)"
    return Headline("takeover", f"takeover {outage}{tail}",
                    f"the surviving side was unreachable for {outage}{tail}", values)


def worst_outage(summary: dict[str, Any]) -> Headline:
    worst, name = None, None
    measured = False
    for monitor_name, monitor in summary.get("monitors", {}).items():
        if not monitor.get("gate"):
            continue
        for iteration in monitor["iterations"]:
            metrics = iteration["metrics"]
            measured = measured or bool(metrics.get("sample_count"))
            longest = metrics.get("longest_outage")
            if longest and (worst is None or (longest["hi"] or math.inf) > (worst["hi"]
                                                                              or math.inf)):
                worst, name = longest, monitor_name
    if worst is None:
        text = NOT_SEEN if measured else "-"
        return Headline("worst-outage", f"outage {text}", "no outage seen by the gated "
                        "monitors" if measured else "nothing measured", {"outage": None})
    return Headline("worst-outage", f"outage {seconds_text(worst)} ({name})",
                    f"the longest outage, {seconds_text(worst)}, was seen by {name}",
                    {"outage": worst})


# -- the scenario's declaration --------------------------------------------------------------

def _metrics(summary: dict[str, Any], monitor: str | None, index: int) -> dict[str, Any] | None:
    entry = summary.get("monitors", {}).get(monitor or "")
    if not entry:
        return None
    for iteration in entry.get("iterations", []):
        if iteration["iteration"] == index:
            return iteration["metrics"]
    return None


def _monitor_named(summary: dict[str, Any], wanted: str | None, kind: str) -> str | None:
    if wanted:
        return wanted
    for name, monitor in summary.get("monitors", {}).items():
        if monitor.get("type") == MONITOR_TYPE.get(kind):
            return name
    return None


#: the quantity of each kind that repeats are averaged over (a key of ``values``)
PRIMARY = {"published-status": "down_published", "token-survival": "stayed_valid",
           "volume-service": "outage", "takeover": "takeover", "worst-outage": "outage"}
#: Student's t, two-sided 95 %, by degrees of freedom (beyond 30: the normal's 1.96)
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def _primary(item: dict[str, Any]) -> float | None:
    """One iteration's figure as a number: a bound's midpoint, 0 for "no outage seen"."""
    values = item.get("values") or {}
    if item["kind"] == "disagreement":
        found = values.get("said_down_while_up") or values.get("said_up_while_off")
        return 0.0 if found is None else found.get("value")
    key = PRIMARY.get(item["kind"])
    value = values.get(key)
    if value is None:
        return 0.0 if key in values and item["kind"] != "published-status" else None
    return value.get("value") if isinstance(value, dict) else float(value)


def across_iterations(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean and 95 % confidence interval over a ``repeat: N`` run's iterations (as the
    OpenStack reliability test plans report downtime and MTTR: mean ± CI over 5 runs)."""
    numbers = [x for x in (_primary(i) for i in items) if x is not None]
    if len(numbers) < 2:
        return None
    n = len(numbers)
    mean = sum(numbers) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in numbers) / (n - 1))
    half = (T_975[n - 2] if n - 1 <= len(T_975) else 1.96) * sd / math.sqrt(n)
    unit = "" if items[0]["kind"] == "token-survival" else " s"
    digits = 3 if unit == "" else 1
    figure = f"mean {mean:.{digits}f}{unit} ± {half:.{digits}f} (95 % CI, {n} runs)"
    return {"iteration": "all", "kind": items[0]["kind"], "label": items[0].get("label"),
            "figure": figure, "verdict": f"over {n} iterations: {figure}",
            "values": {"mean": mean, "ci95": half, "runs": n, "sd": sd}}


def compute(spec: dict[str, Any] | None, summary: dict[str, Any],
            events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One headline per iteration (``spec``: the scenario's ``headline:``, may be empty)."""
    spec = dict(spec or {})
    kind = spec.get("kind") or DEFAULT_KIND.get(summary.get("gap", ""), "worst-outage")
    monitor = _monitor_named(summary, spec.get("monitor"), kind)
    if kind != "worst-outage" and monitor is None:
        kind = "worst-outage"
    out = []
    for it in iterations(events):
        metrics = _metrics(summary, monitor, it.index)
        if kind == "published-status":
            found = published_status(events, it, monitor, spec.get("notifications")
                                     or _monitor_named(summary, None, "notifications"))
        elif kind == "disagreement":
            found = disagreement(events, it, monitor)
        elif kind == "token-survival":
            found = token_survival(events, it, monitor, metrics)
        elif kind == "volume-service":
            held = None if it.rollback_at is None else it.rollback_at - it.t0
            found = volume_service(metrics, spec.get("label"), held)
        elif kind == "takeover":
            found = takeover(metrics, bool(spec.get("data_side")))
        else:
            found = worst_outage(summary)
        found.label = spec.get("label") or found.label
        out.append({"iteration": it.index, **found.to_dict()})
    overall = across_iterations(out)
    return out + ([overall] if overall else [])



def gate_summary(profile: str, summaries: list[Any], exit_code: int,
                 elapsed: float) -> dict[str, Any]:
    """gap-6: the post-deploy gate's own row, shaped like a scenario's summary for the tables.

    A scenario counts as measured when it ran to a verdict (pass or fail) on samples; a gate
    that measured nothing has not passed, whatever its exit code says.
    """
    # the Session hands over typed summaries (RunSummary); their JSON form reads the same
    summaries = [s if isinstance(s, dict) else s.to_json() for s in summaries]
    measured = [s for s in summaries if s.get("status") in ("pass", "fail") and any(
        i["metrics"].get("sample_count") for m in s.get("monitors", {}).values()
        for i in m.get("iterations", []))]
    passed = sum(1 for s in measured if s["status"] == "pass")
    status = "pass" if exit_code == 0 and measured else "fail"
    figure = (f"{len(measured)}/{len(summaries)} scenarios measured, {passed} passed, "
              f"in {elapsed:.0f} s; exit {exit_code}")
    verdict = (f"the gate ran {len(summaries)} scenarios of '{profile}' in {elapsed:.0f} s: "
               f"{len(measured)} measured, {passed} passed; exit code {exit_code}")
    if not measured:
        verdict += " (nothing measured: not a pass)"
    values = {"scenarios": len(summaries), "measured": len(measured), "passed": passed,
              "elapsed": round(elapsed, 1), "exit_code": exit_code}
    return {"scenario": f"post-deploy gate ({profile})", "gap": "gap-6", "status": status,
            "targets": {}, "monitors": {},
            "headline": [{"iteration": 0, "kind": "gate", "figure": figure, "verdict": verdict,
                          "values": values, "label": None}]}
