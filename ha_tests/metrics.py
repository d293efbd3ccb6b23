"""Outage and recovery times from a monitor's sample stream, each with bounds that hold.

A probe that runs over [start, end] reports the service's state at some instant inside that
interval which we cannot know (the request reached the service at some point, the answer
reflects that point). Everything here follows from that single fact; see docs/metrics.rst.

Guarantees (with tau_s the unknown observation instant of sample s, D the true down-set):

* ``OutageWindow.begin`` contains the onset of the true outage that holds the earliest
  failed observation of the window's run; ``end`` contains the end of the true outage that
  holds the latest one; ``duration`` contains the span between the two, which is the true
  outage's length whenever both are the same true outage, i.e. whenever no recovery went
  unobserved between failed samples. These hold for any input, overlapping probes included.
* ``total_downtime`` contains the true downtime inside [t0, window_end] when the outages are
  *separated*: each true outage there holds the observation of some sample and no two true
  outages fall into one window. A true outage that fits between two observations is invisible
  and cannot be bounded (it is at most as long as the gap between those two probes).

Pure functions, no I/O, stdlib only.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ha_tests.bounded import Bounded, bounded_max, duration_between

STATUSES = ("ok", "fail", "timeout", "error")


@dataclass(frozen=True)
class Sample:
    """One probe: the service's state held ``ok`` at an unknown instant in [start, end]."""

    start: float
    end: float
    ok: bool
    status: str = "ok"
    latency: float | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"sample ends ({self.end}) before it starts ({self.start})")
        if not self.ok and self.status == "ok":  # Sample(s, e, False) means a plain failure
            object.__setattr__(self, "status", "fail")
        if self.status not in STATUSES:
            raise ValueError(f"unknown sample status {self.status!r}")


def _by_start(sample: Sample) -> tuple[float, float]:
    return (sample.start, sample.end)


@dataclass(frozen=True)
class OutageWindow:
    """A maximal run of failed samples (in start order) and what it implies about the outage.

    ``begin`` lies between the start of the latest good sample that ended before the run began
    (-inf when there is none: the outage may predate sampling) and the earliest end of a failed
    sample. ``end`` lies between the latest start of a failed sample and the earliest end of a
    good sample that started after every failed one ended; ``end`` is None (``open``) when no
    such good sample exists: the outage was still on when the stream stopped.
    """

    begin: Bounded
    end: Bounded | None
    run: tuple[Sample, ...] = field(repr=False)
    statuses: dict[str, int]

    @property
    def open(self) -> bool:
        return self.end is None

    @property
    def failed_samples(self) -> int:
        return len(self.run)

    @property
    def still_down_at(self) -> float:
        """The outage surely lasted until at least here (the last failed probe's start)."""
        return max(s.start for s in self.run)

    @property
    def duration(self) -> Bounded | None:
        """end - begin; None while open (its length has no upper bound yet)."""
        if self.end is None:
            return None
        return duration_between(self.begin, self.end)

    @property
    def min_duration(self) -> float:
        """Lower bound of the length, also for an open outage."""
        return max(0.0, self.still_down_at - self.begin.hi)

    def downtime_within(self, t_from: float, t_to: float) -> Bounded:
        """Bounds on |[begin, end] ∩ [t_from, t_to]|; an open outage counts up to t_to.

        The overlap grows with end and shrinks with begin, so the extreme corners of the
        bounds give the extreme overlaps.
        """
        end_lo = self.still_down_at if self.end is None else self.end.lo
        end_hi = math.inf if self.end is None else self.end.hi
        lo = max(0.0, min(end_lo, t_to) - max(self.begin.hi, t_from))
        hi = max(0.0, min(end_hi, t_to) - max(self.begin.lo, t_from))
        return Bounded(lo, max(lo, hi))

    def to_dict(self) -> dict[str, Any]:
        duration = self.duration
        return {"begin": self.begin.to_dict(),
                "end": None if self.end is None else self.end.to_dict(),
                "open": self.open,
                "duration": None if duration is None else duration.to_dict(),
                "min_duration": self.min_duration,
                "failed_samples": self.failed_samples,
                "statuses": dict(self.statuses)}


def _failed_runs(ordered: Sequence[Sample]) -> list[tuple[int, int]]:
    """[i, j) index ranges of maximal runs of failed samples."""
    runs, i = [], 0
    while i < len(ordered):
        if ordered[i].ok:
            i += 1
            continue
        j = i
        while j < len(ordered) and not ordered[j].ok:
            j += 1
        runs.append((i, j))
        i = j
    return runs


class _GoodSamples:
    """Answers 'latest good start that ended by t' and 'earliest good end that started from t'."""

    def __init__(self, ordered: Sequence[Sample]):
        goods = [s for s in ordered if s.ok]
        by_end = sorted(goods, key=lambda s: s.end)
        self._ends = [s.end for s in by_end]
        self._max_start_upto: list[float] = []  # prefix max of start over by_end
        best = -math.inf
        for s in by_end:
            best = max(best, s.start)
            self._max_start_upto.append(best)
        by_start = sorted(goods, key=_by_start)
        self._starts = [s.start for s in by_start]
        self._min_end_from = [math.inf] * (len(by_start) + 1)  # suffix min of end
        for k in range(len(by_start) - 1, -1, -1):
            self._min_end_from[k] = min(by_start[k].end, self._min_end_from[k + 1])

    def latest_start_ended_by(self, t: float) -> float:
        k = bisect.bisect_right(self._ends, t)
        return self._max_start_upto[k - 1] if k else -math.inf

    def earliest_end_started_from(self, t: float) -> float:
        return self._min_end_from[bisect.bisect_left(self._starts, t)]


def _windows(ordered: Sequence[Sample], min_failed: int) -> list[tuple[OutageWindow, int]]:
    """Outage windows of start-ordered samples, each with the index just past its run."""
    goods = _GoodSamples(ordered)
    found = []
    for i, j in _failed_runs(ordered):
        if j - i < min_failed:
            continue
        run = tuple(ordered[i:j])
        # Only a good probe that ended before every failed one started was surely observed
        # earlier; a good probe overlapping the run may have looked after the failure.
        begin = Bounded(goods.latest_start_ended_by(min(s.start for s in run)),
                        min(s.end for s in run))
        after = goods.earliest_end_started_from(max(s.end for s in run))
        end = None if math.isinf(after) else Bounded(max(s.start for s in run), after)
        found.append((OutageWindow(begin, end, run, dict(Counter(s.status for s in run))), j))
    return found


def outage_windows(samples: Iterable[Sample], min_failed: int = 1) -> list[OutageWindow]:
    """Outages seen in a sample stream (any order); runs shorter than min_failed are noise."""
    ordered = sorted(samples, key=_by_start)
    return [window for window, _ in _windows(ordered, max(1, min_failed))]


def yardstick_outage(samples: Iterable[Sample]) -> float:
    """OPNFV Yardstick's figure: last failed probe's end - first failed probe's start.

    Kept as the comparison baseline only. It has no bounds, merges every outage into one, and
    is off from the true duration by up to one probe duration at each side (more with gaps).
    """
    failed = [s for s in samples if not s.ok]
    if not failed:
        return 0.0
    return max(s.end for s in failed) - min(s.start for s in failed)


@dataclass(frozen=True)
class LatencyStats:
    count: int
    p50: float
    p95: float
    p99: float

    def to_dict(self) -> dict[str, float]:
        return {"count": self.count, "p50": self.p50, "p95": self.p95, "p99": self.p99}


def percentile(ordered_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) on sorted values."""
    if not ordered_values:
        raise ValueError("percentile of no values")
    position = q * (len(ordered_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered_values) - 1)
    fraction = position - low
    return ordered_values[low] + (ordered_values[high] - ordered_values[low]) * fraction


def latency_stats(samples: Iterable[Sample]) -> LatencyStats | None:
    """Percentiles of good probes' latency; failures have no meaningful latency."""
    values = sorted(s.latency for s in samples if s.ok and s.latency is not None)
    if not values:
        return None
    return LatencyStats(len(values), percentile(values, 0.50), percentile(values, 0.95),
                        percentile(values, 0.99))


#: z of a two-sided 97.5 % interval: two such (baseline and fault medians) hold together
#: with at least 95 % (Bonferroni)
_Z_9875 = 2.2414


def median_interval(values: Sequence[float], z: float = _Z_9875) -> tuple[float, float] | None:
    """A distribution-free confidence interval of the median: the order statistics at ranks
    n/2 ± z·√n/2 (the binomial's normal approximation); None below 3 values."""
    ordered = sorted(values)
    n = len(ordered)
    if n < 3:
        return None
    low = max(0, math.floor(n / 2 - z * math.sqrt(n) / 2) - 1)
    high = min(n - 1, math.ceil(n / 2 + z * math.sqrt(n) / 2) - 1)
    return ordered[low], ordered[high]


def latency_degradation(baseline: Iterable[Sample], fault: Iterable[Sample]) -> Bounded | None:
    """Median latency of good probes during the fault relative to the baseline's, minus 1
    (0.35: 35 % slower), bounded by both medians' confidence intervals (jointly >= 95 %)."""
    before = median_interval([s.latency for s in baseline if s.ok and s.latency is not None])
    during = median_interval([s.latency for s in fault if s.ok and s.latency is not None])
    if before is None or during is None or before[0] <= 0:
        return None
    return Bounded(during[0] / before[1] - 1, during[1] / before[0] - 1, unit="")


def _union_length(spans: Iterable[tuple[float, float]]) -> float:
    total, reach = 0.0, -math.inf
    for lo, hi in sorted(spans):
        if hi <= reach:
            continue
        total += hi - max(lo, reach)
        reach = hi
    return total


def _longest_good_streak(samples: Sequence[Sample]) -> int:
    best = current = 0
    for s in samples:
        current = current + 1 if s.ok else 0
        best = max(best, current)
    return best


def missed_ticks(ordered: Sequence[Sample], interval: float) -> int:
    """Schedule slots with no probe: a gap of about n intervals between starts misses n - 1."""
    missed = 0
    for previous, current in zip(ordered, ordered[1:], strict=False):
        missed += max(0, round((current.start - previous.start) / interval) - 1)
    return missed


@dataclass
class MonitorMetrics:
    """One monitor, one iteration: the fault window is [t0, window_end]."""

    outages: list[OutageWindow]
    total_downtime: Bounded
    longest_outage: Bounded | None
    detection_time: Bounded | None
    recovery_time: Bounded | None
    recovered: bool
    recovery_after_rollback: Bounded | None
    availability: Bounded | None
    error_count: int
    sample_count: int
    baseline_latency: LatencyStats | None
    fault_latency: LatencyStats | None
    missed_samples: int | None
    yardstick_outage: float
    window: float
    #: median latency during the fault over the baseline's, minus 1 (None: too few samples)
    degradation: Bounded | None = None

    @property
    def outage_count(self) -> int:
        return len(self.outages)

    def to_dict(self) -> dict[str, Any]:
        def opt(x: Any) -> Any:
            return None if x is None else x.to_dict()

        return {"outage_count": self.outage_count,
                "outages": [o.to_dict() for o in self.outages],
                "total_downtime": self.total_downtime.to_dict(),
                "longest_outage": opt(self.longest_outage),
                "detection_time": opt(self.detection_time),
                "recovery_time": opt(self.recovery_time),
                "recovered": self.recovered,
                "recovery_after_rollback": opt(self.recovery_after_rollback),
                "availability": opt(self.availability),
                "error_count": self.error_count,
                "sample_count": self.sample_count,
                "baseline_latency": opt(self.baseline_latency),
                "fault_latency": opt(self.fault_latency),
                "missed_samples": self.missed_samples,
                "yardstick_outage": self.yardstick_outage,
                "window": self.window,
                "degradation": opt(self.degradation)}


def compute_monitor_metrics(samples: Iterable[Sample], *, t0: float, window_end: float,
                            baseline_start: float | None = None,
                            rollback_at: float | None = None, recovered_after: int = 3,
                            interval: float | None = None,
                            min_failed: int = 1) -> MonitorMetrics:
    """Metrics of the fault window [t0, window_end]; samples before t0 serve as the baseline.

    Only samples starting in [baseline_start, window_end] are used. Outages are those that
    may overlap the fault window; their downtime is clipped to it (an open outage counts up
    to window_end). Detection measures t0 to the onset of the first outage that may have begun
    at or after t0 (its first failed probe ended at or after t0). Recovery measures t0 to the
    end of the last outage, and only once ``recovered_after`` consecutive good samples follow
    it; otherwise ``recovered`` is False and recovery_time None.
    """
    if window_end < t0:
        raise ValueError(f"window_end {window_end} precedes t0 {t0}")
    earliest = -math.inf if baseline_start is None else baseline_start
    considered = sorted((s for s in samples if earliest <= s.start <= window_end), key=_by_start)
    in_window = [s for s in considered if s.start >= t0]

    found = [(w, after) for w, after in _windows(considered, max(1, min_failed))
             if w.end is None or w.end.hi > t0]
    outages = [w for w, _ in found]
    clipped = [w.downtime_within(t0, window_end) for w in outages]
    # Each true outage lies inside [begin.lo, end.hi]; neighbouring windows' spans share the
    # probe between them, so the union (not the sum) of the spans bounds the downtime.
    spans = [(max(w.begin.lo, t0), min(window_end, math.inf if w.end is None else w.end.hi))
             for w in outages]
    total_hi = _union_length((lo, hi) for lo, hi in spans if hi > lo)
    total_lo = sum(c.lo for c in clipped)
    total_downtime = Bounded(total_lo, max(total_lo, total_hi))

    detection_time = None
    onsets = [w for w in outages if w.begin.hi >= t0]
    if onsets:
        detection_time = duration_between(t0, min(onsets, key=lambda w: w.begin.hi).begin)

    recovered, recovery_time, recovery_after_rollback = True, None, None
    if found:
        last, after = found[-1]
        recovered = (last.end is not None
                     and _longest_good_streak(considered[after:]) >= recovered_after)
        if recovered:
            assert last.end is not None
            recovery_time = duration_between(t0, last.end)
            if rollback_at is not None:
                recovery_after_rollback = duration_between(rollback_at, last.end)

    window = window_end - t0
    availability = None
    if window > 0:
        availability = Bounded(1 - total_downtime.hi / window, 1 - total_downtime.lo / window,
                               unit="").clamp(0.0, 1.0)

    return MonitorMetrics(
        outages=outages,
        total_downtime=total_downtime,
        longest_outage=bounded_max(clipped),
        detection_time=detection_time,
        recovery_time=recovery_time,
        recovered=recovered,
        recovery_after_rollback=recovery_after_rollback,
        availability=availability,
        error_count=sum(1 for s in in_window if not s.ok),
        sample_count=len(in_window),
        baseline_latency=latency_stats(s for s in considered if s.start < t0),
        fault_latency=latency_stats(in_window),
        missed_samples=None if not interval else missed_ticks(considered, interval),
        yardstick_outage=yardstick_outage(in_window),
        window=window,
        degradation=latency_degradation((s for s in considered if s.start < t0), in_window),
    )
