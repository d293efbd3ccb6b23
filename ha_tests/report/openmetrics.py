"""A run's headline figures as Prometheus series, read from summary.json (never recomputed).

Operators already watch Prometheus: the same outage, detection, recovery and availability a
report prints become gauges there, each with its lower and upper bound as series of its own
(a bound is not a dimension one may sum over, so it is not a label). Labels are the
scenario, its gap area, the monitor and the iteration: all bounded by the scenario files,
never a time, a path or a node's address.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Enum, Gauge, push_to_gateway, write_to_textfile
from prometheus_client.exposition import basic_auth_handler, default_handler

from ha_tests.report.history import Trend, worst_gated
from ha_tests.results import worst_availability
from ha_tests.summary import Interval, RunSummary

#: summary.json key -> series stem and unit (Prometheus: the unit ends the name)
MEASURES = {"longest_outage": ("outage", "seconds"),
            "detection_time": ("detection", "seconds"),
            "recovery_time": ("recovery", "seconds"),
            "availability": ("availability", "ratio")}
#: the verdicts a summary can carry (ha_tests.summary.Status), as an OpenMetrics state set
VERDICTS = ["pass", "fail", "skipped", "error", "preflight-failed", "rollback-failed",
            "interrupted"]
TRENDS = ["regressed", "improved", "no_change"]
JOB = "ha-tests"


def _bound(value: float | None, missing: float) -> float:
    """summary.json writes an infinite bound as null; Prometheus has +Inf and -Inf."""
    return missing if value is None else float(value)


class _BoundedGauges:
    """One measure as three gauges: its midpoint and its two bounds."""

    def __init__(self, registry: CollectorRegistry, stem: str, unit: str, what: str,
                 labels: list[str]):
        name = f"ha_tests_{stem}_{unit}"
        self.value = Gauge(name, f"{what} (midpoint of its bounds)", labels, registry=registry)
        self.lower = Gauge(f"ha_tests_{stem}_lower_{unit}", f"{what}: lower bound", labels,
                           registry=registry)
        self.upper = Gauge(f"ha_tests_{stem}_upper_{unit}", f"{what}: upper bound", labels,
                           registry=registry)

    def set(self, labels: dict[str, str], bounded: Interval | None) -> None:
        if bounded is None or bounded.value is None:
            return
        self.value.labels(**labels).set(bounded.value)
        self.lower.labels(**labels).set(_bound(bounded.lo, -math.inf))
        self.upper.labels(**labels).set(_bound(bounded.hi, math.inf))


def _finished(summary: RunSummary) -> float | None:
    text = summary.finished
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def build_registry(summaries: Iterable[RunSummary], trends: Iterable[Trend] = (),
                   registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Every series of these scenario summaries (and their trends against earlier runs)."""
    registry = registry or CollectorRegistry()
    monitor_labels = ["scenario", "gap", "monitor", "iteration"]
    per_monitor = {key: _BoundedGauges(registry, stem, unit, f"{key.replace('_', ' ')} seen "
                                       "by one monitor in one iteration", monitor_labels)
                   for key, (stem, unit) in MEASURES.items()}
    per_gap = {key: _BoundedGauges(registry, f"gap_{stem}", unit, f"worst {key.replace('_', ' ')}"
                                   " among the gap area's gated monitors in the last run",
                                   ["gap"])
               for key, (stem, unit) in MEASURES.items()}
    outages = Gauge("ha_tests_outages", "outages one monitor saw in one iteration",
                    monitor_labels, registry=registry)
    latency = {phase: Gauge(f"ha_tests_{phase}_latency_p95_seconds", f"95th percentile of "
                            f"probe latency during the {phase} (degradation: fault against "
                            "baseline)", monitor_labels, registry=registry)
               for phase in ("baseline", "fault")}
    verdict = Enum("ha_tests_verdict", "the scenario's verdict", ["scenario", "gap"],
                   states=VERDICTS, registry=registry)
    finished = Gauge("ha_tests_run_finished_timestamp_seconds", "when the scenario's run "
                     "finished (Unix time)", ["scenario", "gap"], registry=registry)
    gap_worst: dict[str, dict[str, Interval]] = {}
    for summary in summaries:
        scenario, gap = summary.scenario, summary.gap
        status = str(summary.status)
        verdict.labels(scenario=scenario, gap=gap).state(status if status in VERDICTS
                                                         else "error")
        when = _finished(summary)
        if when is not None:
            finished.labels(scenario=scenario, gap=gap).set(when)
        for name, monitor in summary.monitors.items():
            for iteration in monitor.iterations:
                labels = {"scenario": scenario, "gap": gap, "monitor": name,
                          "iteration": str(iteration.iteration)}
                metrics = iteration.metrics
                for key, gauges in per_monitor.items():
                    gauges.set(labels, getattr(metrics, key))
                outages.labels(**labels).set(metrics.outage_count)
                for phase, gauge in latency.items():
                    stats = metrics.baseline_latency if phase == "baseline" \
                        else metrics.fault_latency
                    if stats is not None:
                        gauge.labels(**labels).set(stats.p95)
        worst = gap_worst.setdefault(gap, {})
        for key in MEASURES:
            value = (worst_availability(summary) if key == "availability"
                     else worst_gated(summary, key))
            if value is None or value.value is None:
                continue
            kept = worst.get(key)
            if key == "availability":
                if kept is None or _bound(value.lo, -math.inf) < _bound(kept.lo, -math.inf):
                    worst[key] = value
            elif kept is None or _bound(value.hi, math.inf) > _bound(kept.hi, math.inf):
                worst[key] = value
    for gap, worst in gap_worst.items():
        for key, value in worst.items():
            per_gap[key].set({"gap": gap}, value)
    _add_trends(registry, list(trends))
    return registry


def _add_trends(registry: CollectorRegistry, trends: list[Trend]) -> None:
    labels = ["scenario", "gap"]
    change = _BoundedGauges(registry, "recovery_change", "seconds", "this run's recovery "
                            "against the last runs' (positive: slower)", labels)
    trend = Enum("ha_tests_recovery_trend", "recovery against the last runs: regressed or "
                 "improved only when the bounds do not overlap", labels, states=TRENDS,
                 registry=registry)
    compared = Gauge("ha_tests_recovery_compared_runs", "how many earlier runs the trend "
                     "compares against", labels, registry=registry)
    for item in trends:
        if item.change is None:
            continue
        key = {"scenario": item.scenario, "gap": item.gap}
        change.set(key, item.change)
        trend.labels(**key).state(item.verdict.replace(" ", "_"))
        compared.labels(**key).set(len(item.earlier))


def write_textfile(path: str, registry: CollectorRegistry) -> None:
    """For node_exporter's textfile collector (written to a temporary file, then renamed, as
    the collector needs)."""
    write_to_textfile(path, registry)


def push(url: str, registry: CollectorRegistry, grouping: dict[str, str]) -> None:
    """Replace this job's group on a Pushgateway. Credentials in the URL
    (https://user:password@host) are sent as HTTP basic auth, never as part of the URL."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    handler = default_handler
    if parts.username is not None:
        user, password = parts.username, parts.password or ""

        def handler(url, method, timeout, headers, data):  # noqa: F811 - with credentials
            return basic_auth_handler(url, method, timeout, headers, data, user, password)
        parts = parts._replace(netloc=_host_port(parts))
    push_to_gateway(urlunsplit(parts), job=JOB, registry=registry, grouping_key=grouping,
                    handler=handler)


def _host_port(parts) -> str:
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def public_url(url: str) -> str:
    """The URL as it may be printed: without its password."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{_host_port(parts)}"))
