"""This run against the last N: a change is only called one when the intervals are apart."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ha_tests.report.history import against_last
from ha_tests.report.records import RunRecord
from ha_tests.summary import Interval, RunSummary


def run(name: str, finished: str, lo: float | None, hi: float | None) -> RunRecord:
    finite = [x for x in (lo, hi) if x is not None]
    recovery = {"value": sum(finite) / len(finite), "lo": lo, "hi": hi,
                "error": None if len(finite) < 2 else (hi - lo) / 2}
    summary = {"scenario": "kill-keystone", "gap": "classic", "status": "pass",
               "finished": finished,
               "monitors": {"api": {"type": "http", "gate": True, "iterations": [
                   {"iteration": 0, "metrics": {"recovery_time": recovery}}]}}}
    return RunRecord(Path(name), RunSummary.model_validate(summary), [])


def test_overlapping_bounds_are_no_change_even_when_the_midpoint_moved():
    history = [run("a", "2026-01-01T00:00", 1.0, 2.0), run("b", "2026-01-02T00:00", 1.2, 2.2)]
    trend = against_last(run("c", "2026-01-03T00:00", 2.1, 3.1), history, 5)
    assert trend.verdict == "no change"
    assert trend.change.value > 0  # moved, but within what the bounds allow
    assert "no change" in trend.text()


def test_only_the_last_n_earlier_runs_count_and_never_the_run_itself():
    history = [run("old", "2026-01-01T00:00", 9.0, 10.0), run("a", "2026-01-02T00:00", 1.0, 1.5),
               run("later", "2026-01-09T00:00", 50.0, 60.0)]
    current = run("c", "2026-01-03T00:00", 4.0, 4.5)
    trend = against_last(current, [*history, current], 1)
    assert trend.verdict == "regressed" and len(trend.earlier) == 1
    assert trend.change == Interval(value=4.25 - 1.25, lo=4.0 - 1.5, hi=4.5 - 1.0)
    assert "REGRESSED by 3.00 s (at least 2.50 s)" in trend.text()


def test_improved_and_an_unbounded_earlier_run_that_cannot_be_beaten():
    current = run("c", "2026-01-03T00:00", 1.0, 1.5)
    assert against_last(current, [run("a", "2026-01-01T00:00", 4.0, 5.0)], 5).verdict == \
        "improved"
    # an earlier run never seen to recover has no upper bound: nothing can be "worse" than it,
    # and its lower bound alone decides "better"
    assert against_last(run("d", "2026-01-03T00:00", 9.0, 9.5),
                        [run("a", "2026-01-01T00:00", 4.0, None)], 5).verdict == "no change"


def test_no_history_says_so():
    trend = against_last(run("c", "2026-01-03T00:00", 1.0, 1.5), [], 5)
    assert trend.verdict == "no history" and trend.change is None
    assert "no earlier run" in trend.text()


bounds = st.tuples(st.floats(0, 100), st.floats(0, 100)).map(sorted)


@given(st.lists(bounds, min_size=1, max_size=6), bounds)
def test_regressed_means_above_every_earlier_interval(earlier, now):
    history = [run(f"r{i}", f"2026-01-01T00:{i:02d}", lo, hi) for i, (lo, hi) in
               enumerate(earlier)]
    trend = against_last(run("now", "2026-02-01T00:00", *now), history, 10)
    above = all(now[0] > hi for _, hi in earlier)
    below = all(now[1] < lo for lo, _ in earlier)
    assert (trend.verdict == "regressed") == above
    assert (trend.verdict == "improved") == below
    assert trend.change.lo <= trend.change.value <= trend.change.hi
