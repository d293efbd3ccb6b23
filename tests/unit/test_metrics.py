"""Hand-built sample streams whose bounds can be worked out on paper."""

from __future__ import annotations

import json
import math
import random

import pytest

from ha_tests.bounded import Bounded, bounded_max, duration_between
from ha_tests.metrics import (
    Sample,
    compute_monitor_metrics,
    latency_stats,
    outage_windows,
    percentile,
    yardstick_outage,
)


def stream(pattern: str, interval: float = 1.0, probe: float = 0.2,
           latency: float | None = None) -> list[Sample]:
    """'.' a good probe, 'x' a failed one, 't' a timeout; probe k starts at k * interval."""
    samples = []
    for k, char in enumerate(pattern):
        start = k * interval
        status = {".": "ok", "x": "fail", "t": "timeout"}[char]
        samples.append(Sample(start, start + probe, char == ".", status,
                              latency if char == "." else None))
    return samples


def approx(bounded: Bounded | None) -> tuple[float, float]:
    assert bounded is not None
    return pytest.approx((bounded.lo, bounded.hi))


# -- Bounded --------------------------------------------------------------------------------
def test_bounded_reads_as_midpoint_and_half_width():
    b = Bounded(2.26, 2.36)
    assert b.value == pytest.approx(2.31)
    assert b.error == pytest.approx(0.05)
    assert str(b) == "2.31 s ± 0.05 s"
    assert str(Bounded(0.1, 0.3)) == "200 ms ± 100 ms"
    assert b.contains(2.26) and b.contains(2.36) and not b.contains(2.37)
    assert b.to_dict() == pytest.approx({"value": 2.31, "lo": 2.26, "hi": 2.36, "error": 0.05})


def test_bounded_rejects_inverted_or_nan_bounds():
    with pytest.raises(ValueError):
        Bounded(2.0, 1.0)
    with pytest.raises(ValueError):
        Bounded(math.nan, 1.0)


def test_bounded_arithmetic():
    a, b = Bounded(10.0, 11.0), Bounded(2.0, 3.0)
    assert a.minus(b) == Bounded(7.0, 9.0)
    assert a.shift(-10) == Bounded(0.0, 1.0)
    assert a + b == Bounded(12.0, 14.0)
    assert sum([a, b]) == Bounded(12.0, 14.0)
    assert duration_between(b, a) == Bounded(7.0, 9.0)
    assert duration_between(Bounded(1.0, 5.0), Bounded(2.0, 6.0)) == Bounded(0.0, 5.0)
    assert bounded_max([a, b, Bounded(0.0, 12.0)]) == Bounded(10.0, 12.0)
    assert bounded_max([]) is None


def test_infinite_bounds_print_as_one_sided_and_serialize_as_null():
    b = Bounded(-math.inf, 0.2)
    assert str(b) == "≤ 200 ms"
    assert str(Bounded(3.0, math.inf)) == "≥ 3.00 s"
    assert b.to_dict() == {"value": 0.2, "lo": None, "hi": 0.2, "error": None}
    json.dumps(b.to_dict(), allow_nan=False)


def test_ratio_prints_without_seconds():
    assert str(Bounded(0.99, 0.995, unit="")) == "0.9925 ± 0.0025"


# -- Sample ---------------------------------------------------------------------------------
def test_failed_sample_without_status_is_a_plain_failure():
    assert Sample(0, 1, False).status == "fail"
    with pytest.raises(ValueError):
        Sample(1, 0, True)
    with pytest.raises(ValueError):
        Sample(0, 1, False, "weird")


# -- outage windows -------------------------------------------------------------------------
def test_no_outage():
    samples = stream("..........")
    assert outage_windows(samples) == []
    assert yardstick_outage(samples) == 0.0
    m = compute_monitor_metrics(samples, t0=2.5, window_end=9.5)
    assert m.outage_count == 0 and m.outages == []
    assert m.total_downtime == Bounded(0.0, 0.0)
    assert m.longest_outage is None and m.detection_time is None and m.recovery_time is None
    assert m.recovered is True
    assert m.availability == Bounded(1.0, 1.0)


def test_one_outage_bounds_follow_the_neighbouring_probes():
    [w] = outage_windows(stream("...xxx...."))
    # last good probe [2, 2.2], failed [3, 3.2] .. [5, 5.2], first good again [6, 6.2]
    assert (w.begin.lo, w.begin.hi) == approx(Bounded(2.0, 3.2))
    assert (w.end.lo, w.end.hi) == approx(Bounded(5.0, 6.2))
    assert (w.duration.lo, w.duration.hi) == approx(Bounded(1.8, 4.2))
    assert w.failed_samples == 3 and w.statuses == {"fail": 3} and not w.open


def test_two_outages():
    first, second = outage_windows(stream("..xx...x..."))
    assert (first.begin.lo, first.begin.hi) == approx(Bounded(1.0, 2.2))
    assert (first.end.lo, first.end.hi) == approx(Bounded(3.0, 4.2))
    assert (second.begin.lo, second.begin.hi) == approx(Bounded(6.0, 7.2))
    assert (second.end.lo, second.end.hi) == approx(Bounded(7.0, 8.2))


def test_outage_at_the_start_has_no_lower_bound_on_its_begin():
    [w] = outage_windows(stream("xx...."))
    assert w.begin.lo == -math.inf and w.begin.hi == pytest.approx(0.2)
    assert w.duration.lo == pytest.approx(1.0 - 0.2) and w.duration.hi == math.inf
    assert w.to_dict()["begin"]["lo"] is None
    json.dumps(w.to_dict(), allow_nan=False)


def test_outage_open_at_the_end():
    [w] = outage_windows(stream("...xx"))
    assert w.open and w.end is None and w.duration is None
    assert w.still_down_at == 4.0
    assert w.min_duration == pytest.approx(4.0 - 3.2)
    assert approx(w.downtime_within(0.0, 10.0)) == (0.8, 10.0 - 2.0)
    assert w.to_dict()["end"] is None and w.to_dict()["open"] is True


def test_single_failed_sample_may_be_arbitrarily_short():
    [w] = outage_windows(stream("..x.."))
    assert (w.begin.lo, w.begin.hi) == approx(Bounded(1.0, 2.2))
    assert (w.end.lo, w.end.hi) == approx(Bounded(2.0, 3.2))
    assert (w.duration.lo, w.duration.hi) == approx(Bounded(0.0, 2.2))


def test_timeouts_count_as_failures_over_their_whole_wait():
    # interval 1 s, timeout 2.5 s: timed-out probes overlap the next ones
    samples = [Sample(0, 0.1, True), Sample(1, 3.5, False, "timeout"),
               Sample(2, 4.5, False, "timeout"), Sample(3, 3.1, False, "fail"),
               Sample(4, 4.1, True), Sample(5, 5.1, True), Sample(6, 6.1, True)]
    [w] = outage_windows(samples)
    assert w.statuses == {"timeout": 2, "fail": 1}
    assert (w.begin.lo, w.begin.hi) == approx(Bounded(0.0, 3.1))
    # the good probe at 4 s started before the timeout at 2 s gave up: it may have looked
    # before that probe did, so only the probe at 5 s bounds the end
    assert (w.end.lo, w.end.hi) == approx(Bounded(3.0, 5.1))


def test_overlapping_good_probe_does_not_bound_the_begin():
    # the slow good probe [1, 3.5] may have looked at 3.4, after the failure at [2, 2.1]
    samples = [Sample(0, 0.1, True), Sample(1, 3.5, True), Sample(2, 2.1, False),
               Sample(3, 3.1, True), Sample(4, 4.1, True)]
    [w] = outage_windows(samples)
    assert (w.begin.lo, w.begin.hi) == approx(Bounded(0.0, 2.1))
    assert (w.end.lo, w.end.hi) == approx(Bounded(2.0, 3.1))


def test_unordered_input_gives_the_same_windows():
    samples = stream("..xx...xxx..x..")
    shuffled = samples[:]
    random.Random(7).shuffle(shuffled)
    assert outage_windows(shuffled) == outage_windows(samples)


def test_min_failed_ignores_short_runs():
    assert len(outage_windows(stream("..x..xx..x.."), min_failed=2)) == 1
    assert len(outage_windows(stream("..x..xx..x.."))) == 3


def test_yardstick_figure_is_last_failed_end_minus_first_failed_start():
    assert yardstick_outage(stream("...xxx....")) == pytest.approx(5.2 - 3.0)
    # two outages are merged into one figure, the good probes between included
    assert yardstick_outage(stream("..xx...x...")) == pytest.approx(7.2 - 2.0)


# -- monitor metrics ------------------------------------------------------------------------
def test_detection_recovery_and_rollback_are_measured_from_their_instants():
    m = compute_monitor_metrics(stream("...xxx...."), t0=2.5, window_end=9.5, rollback_at=4.0)
    assert approx(m.detection_time) == (0.0, 0.7)  # begin in [2.0, 3.2], clamped at t0
    assert approx(m.recovery_time) == (2.5, 3.7)  # end in [5.0, 6.2]
    assert approx(m.recovery_after_rollback) == (1.0, 2.2)
    assert m.recovered and m.outage_count == 1
    assert approx(m.longest_outage) == (3.2 - 3.2 + 1.8, 6.2 - 2.5)  # clipped at t0
    assert m.error_count == 3 and m.sample_count == 7
    assert m.yardstick_outage == pytest.approx(2.2)


def test_recovery_needs_k_consecutive_good_samples():
    m = compute_monitor_metrics(stream("..xx.."), t0=1.5, window_end=6.0, recovered_after=3)
    assert not m.recovered and m.recovery_time is None
    m = compute_monitor_metrics(stream("..xx.."), t0=1.5, window_end=6.0, recovered_after=2)
    assert m.recovered and approx(m.recovery_time) == (3.0 - 1.5, 4.2 - 1.5)


def test_recovery_is_measured_to_the_last_outage_of_a_flapping_service():
    m = compute_monitor_metrics(stream("..xx..x......"), t0=1.5, window_end=13.0)
    assert m.outage_count == 2 and m.recovered
    assert approx(m.recovery_time) == (6.0 - 1.5, 7.2 - 1.5)


def test_open_outage_never_recovers_and_counts_until_window_end():
    m = compute_monitor_metrics(stream("...xxxx"), t0=2.5, window_end=7.0)
    assert not m.recovered and m.recovery_time is None
    assert approx(m.total_downtime) == (6.0 - 3.2, 7.0 - 2.5)


def test_outage_ended_before_t0_is_baseline_noise():
    m = compute_monitor_metrics(stream(".x........"), t0=5.0, window_end=9.5)
    assert m.outage_count == 0 and m.detection_time is None


def test_outage_already_on_at_t0_is_not_a_detection():
    m = compute_monitor_metrics(stream("..xxxx...."), t0=3.5, window_end=9.5)
    assert m.outage_count == 1 and m.detection_time is None
    assert approx(m.recovery_time) == (5.0 - 3.5, 6.2 - 3.5)


def test_availability_is_one_minus_downtime_over_the_window():
    # one outage: downtime in [1.8, 4.2] inside a 10 s window
    m = compute_monitor_metrics(stream("...xxx......"), t0=0.0, window_end=10.0)
    assert approx(m.total_downtime) == (1.8, 4.2)
    assert approx(m.availability) == (1 - 0.42, 1 - 0.18)
    assert str(m.availability).endswith("± 0.1200")


def test_total_downtime_counts_the_probe_between_two_outages_once():
    # outages [1, 2.2]..[2, 3.2] and [2, 3.2]..[4, 5.2] are separated by the probe at 3 s:
    # their widest spans overlap on [3, 3.2], which cannot be down in both
    m = compute_monitor_metrics(stream(".xx.xx...."), t0=0.0, window_end=10.0)
    assert m.outage_count == 2
    spans = sum(w.downtime_within(0.0, 10.0).hi for w in m.outages)
    assert approx(m.total_downtime) == (0.8 + 0.8, spans - 0.2)


def test_baseline_start_drops_older_samples():
    samples = stream("x....xx....")
    m = compute_monitor_metrics(samples, t0=4.5, window_end=10.5, baseline_start=0.5)
    assert m.outage_count == 1 and m.error_count == 2


def test_latency_percentiles_from_good_samples_only():
    samples = [Sample(k, k + 0.1, True, latency=float(k)) for k in range(101)]
    samples.append(Sample(200, 201, False, "timeout", latency=99.0))
    stats = latency_stats(samples)
    assert stats.count == 101 and (stats.p50, stats.p95, stats.p99) == (50.0, 95.0, 99.0)
    assert latency_stats([Sample(0, 1, False)]) is None
    assert percentile([1.0, 2.0], 0.5) == 1.5
    m = compute_monitor_metrics(samples, t0=50.0, window_end=300.0)
    assert m.baseline_latency.count == 50 and m.fault_latency.count == 51
    assert m.baseline_latency.p50 == pytest.approx(24.5)


def test_missed_samples_from_schedule_gaps():
    samples = [Sample(t, t + 0.1, True) for t in (0.0, 1.02, 1.98, 5.01, 6.0)]
    m = compute_monitor_metrics(samples, t0=0.0, window_end=7.0, interval=1.0)
    assert m.missed_samples == 2
    assert compute_monitor_metrics(samples, t0=0.0, window_end=7.0).missed_samples is None


def test_to_dict_is_strict_json():
    m = compute_monitor_metrics(stream("xx..xxx..t..x"), t0=1.0, window_end=13.0,
                                rollback_at=5.0, interval=1.0)
    text = json.dumps(m.to_dict(), allow_nan=False)
    assert json.loads(text)["outage_count"] == m.outage_count == 4


def test_window_end_before_t0_is_refused():
    with pytest.raises(ValueError):
        compute_monitor_metrics([], t0=5.0, window_end=4.0)
