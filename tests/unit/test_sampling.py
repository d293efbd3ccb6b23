"""The sampling loop: a fixed schedule, a timeout per probe, hung probes never stall it."""

from __future__ import annotations

import random
import threading
import time

import pytest

from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.sampling import SamplingLoop, failure_reason


class SlowThenFast(Monitor):
    """Probes block while `hang` is set (a hung API), answer at once otherwise."""

    def __init__(self, timeout: float):
        super().__init__("m", None, [], None, timeout=timeout)
        self.hang = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def probe(self) -> ProbeResult:
        self.calls += 1
        if self.hang.is_set():
            self.release.wait(5)
        return ProbeResult(True)


def run_for(loop: SamplingLoop, seconds: float) -> None:
    loop.start()
    time.sleep(seconds)
    loop.stop()


class VirtualClock:
    """Virtual time for the loop: a wait returns at once, time moved on by what it asked for
    plus ``late(when)`` (how late a loaded machine would wake the loop that meant to wake
    ``when`` virtual seconds after the start); the loop is told to stop once ``until``
    virtual seconds have passed."""

    def __init__(self, until: float, late=lambda when: 0.0):
        self.t = self.origin = 1000.0
        self.until, self.late = self.origin + until, late
        self.over = threading.Event()

    def now(self) -> float:
        return self.t

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.t += seconds
        self.t += self.late(self.t - self.origin)
        if self.t >= self.until:
            stop.set()
            self.over.set()
        return stop.is_set()


def run_on(clock: VirtualClock, interval: float, monitor: Monitor | None = None,
           **options) -> tuple[list[float], SamplingLoop]:
    """The loop on virtual time (by default with probes that never time out on it) until the
    clock says stop, and its samples' starts as offsets from the clock's origin."""
    loop = SamplingLoop(monitor or SlowThenFast(timeout=3600), interval=interval, events=None,
                        clock=clock, **options)
    loop.start()
    assert clock.over.wait(60), "the loop stopped waiting for its ticks"
    if isinstance(monitor, SlowThenFast):
        monitor.hang.clear()
        monitor.release.set()  # a hung probe still out on the frozen clock would never end
    loop.stop()
    return [s.start - clock.origin for s in loop.snapshot()], loop


def test_samples_follow_the_schedule_without_drift():
    """Tick k starts at k * interval plus that wake-up's own lateness, never the sum of the
    earlier ones: 400 wake-ups each up to 0.9 interval late leave no drift."""
    lateness = random.Random(24)
    clock = VirtualClock(until=20.0, late=lambda when: lateness.uniform(0, 0.045))
    starts, loop = run_on(clock, interval=0.05)
    assert len(starts) == 400 and loop.missed == 0
    behind = [start - k * 0.05 for k, start in enumerate(starts)]
    assert min(behind) >= -1e-9 and max(behind) < 0.045 + 1e-9  # one wake-up's lateness
    on_time, _ = run_on(VirtualClock(until=20.0), interval=0.05)
    assert on_time == pytest.approx([k * 0.05 for k in range(400)], abs=1e-9)


def test_a_wake_up_late_by_whole_ticks_counts_them_missed_and_never_bursts():
    late_once = VirtualClock(until=2.0, late=lambda when: 0.175 if abs(when - 0.5) < 1e-6
                             else 0.0)
    starts, loop = run_on(late_once, interval=0.05)
    assert loop.missed == 3  # the ticks at 0.50, 0.55 and 0.60 s never ran
    assert starts[10] == pytest.approx(0.5 + 0.175, abs=1e-9)  # one probe on waking up
    assert starts[11:] == pytest.approx([k * 0.05 for k in range(14, 40)], abs=1e-9)
    assert len(starts) == 40 - 3


def test_a_hung_probe_is_one_timeout_and_the_monitor_keeps_sampling():
    """The probes hang for the first 0.5 s (virtual): each one started before 0.3 s is one
    timeout of exactly its 0.2 s, and the schedule goes on through the hang and after it."""
    monitor = SlowThenFast(timeout=0.2)
    monitor.hang.set()

    def api_back_at_half_a_second(when: float) -> float:
        if when >= 0.5 - 1e-9:
            monitor.hang.clear()
            monitor.release.set()
        return 0.0
    clock = VirtualClock(until=1.0, late=api_back_at_half_a_second)
    starts, loop = run_on(clock, interval=0.05, monitor=monitor)
    samples = loop.snapshot()
    assert starts == pytest.approx([k * 0.05 for k in range(20)], abs=1e-9)
    assert loop.missed == 0
    timeouts = [s for s in samples if s.status == "timeout"]
    assert all(abs((s.end - s.start) - 0.2) < 1e-9 for s in timeouts)
    assert {round(s.start - clock.origin, 3) for s in timeouts} >= {
        round(k * 0.05, 3) for k in range(6)}  # every probe whose 0.2 s ran out in the hang
    assert samples[-1].ok  # sampling went on after the hang


def test_max_in_flight_skips_ticks_instead_of_piling_on():
    monitor = SlowThenFast(timeout=1.0)
    monitor.hang.set()
    _, loop = run_on(VirtualClock(until=0.51), interval=0.02, monitor=monitor,
                     max_in_flight=2)
    assert monitor.calls <= 2 and len(loop.snapshot()) == 2
    assert loop.missed == 26 - 2  # ticks 0 to 25, two of them launched, never piled on


class LostFirstRequest(Monitor):
    """The first probe's request is lost: it fails, but only when its wait runs out."""

    def __init__(self, lost_for: float):
        super().__init__("m", None, [], None, timeout=5)
        self.lost_for = lost_for
        self.calls = 0

    def probe(self) -> ProbeResult:
        self.calls += 1
        if self.calls == 1:
            time.sleep(self.lost_for)
            return ProbeResult(False, detail={"error": "still BUILD"})
        return ProbeResult(True)


def test_recovery_waits_for_a_slow_failure_that_started_earlier():
    """Good samples after a probe still in flight do not mean recovered: it may yet fail.

    kill-nova-scheduler found it: a boot lost with the killed scheduler fails only at its
    timeout, after later boots succeeded; the run stopped observing before that, and the
    metrics then called the outage open ("never recovered").
    """
    from ha_tests.metrics import outage_windows

    loop = SamplingLoop(LostFirstRequest(lost_for=0.6), interval=0.05, events=None)
    since = time.monotonic()
    loop.start()
    time.sleep(0.3)
    assert len([s for s in loop.snapshot() if s.ok]) >= 3
    assert not loop.recovered(since, 3)  # the first probe is still out
    time.sleep(0.35)  # it has failed now
    assert any(not s.ok for s in loop.snapshot())
    assert not loop.recovered(since, 3)  # no good sample started after it ended yet
    deadline = time.monotonic() + 2
    while not loop.recovered(since, 3) and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    samples = loop.snapshot()
    failed = [s for s in samples if not s.ok]
    assert len(failed) == 1
    assert sum(1 for s in samples if s.ok and s.start >= failed[0].end) >= 3
    windows = outage_windows(samples)
    assert len(windows) == 1 and not windows[0].open


def test_failures_are_counted_by_reason_alike_ones_together():
    assert failure_reason("fail", {"error": "server still BUILD after 25.3 s"}) == \
        "server still BUILD after N s"
    assert failure_reason("fail", {"error": "No Server found for "
                                            "6f1c2a9e-8d3b-4c1f-9a2e-0b1c2d3e4f5a"}) == \
        "No Server found for <id>"
    assert failure_reason("fail", {"reason": "server still BUILD at the deadline",
                                   "error": "x"}) == "server still BUILD at the deadline"
    assert failure_reason("timeout", {}) == "timeout"

    class Alternating(Monitor):
        def __init__(self):
            super().__init__("m", None, [], None, timeout=0.5)
            self.calls = 0

        def probe(self) -> ProbeResult:
            self.calls += 1
            if self.calls % 3 == 0:
                return ProbeResult(True)
            if self.calls % 3 == 1:
                return ProbeResult(False, detail={"error": f"HTTP 503 after {self.calls} ms"})
            raise ConnectionRefusedError(111, "Connection refused")

    loop = SamplingLoop(Alternating(), interval=0.02, events=None)
    run_for(loop, 0.5)
    failed = [s for s in loop.snapshot() if not s.ok]
    assert set(loop.failures) == {"HTTP N after N ms",
                                  "ConnectionRefusedError: [Errno N] Connection refused"}
    assert sum(loop.failures.values()) == len(failed) > 0
