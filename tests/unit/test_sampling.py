"""The sampling loop: a fixed schedule, a timeout per probe, hung probes never stall it."""

from __future__ import annotations

import threading
import time

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


def test_samples_follow_the_schedule_without_drift():
    loop = SamplingLoop(SlowThenFast(timeout=0.5), interval=0.05, events=None)
    run_for(loop, 1.0)
    starts = [s.start for s in loop.snapshot()]
    assert 17 <= len(starts) <= 22
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert max(gaps) < 0.05 * 3


def test_a_hung_probe_is_one_timeout_and_the_monitor_keeps_sampling():
    monitor = SlowThenFast(timeout=0.2)
    loop = SamplingLoop(monitor, interval=0.05, events=None)
    monitor.hang.set()
    loop.start()
    time.sleep(0.5)
    monitor.hang.clear()
    monitor.release.set()
    time.sleep(0.5)
    loop.stop()
    samples = loop.snapshot()
    timeouts = [s for s in samples if s.status == "timeout"]
    assert timeouts and all(abs((s.end - s.start) - 0.2) < 1e-9 for s in timeouts)
    assert samples[-1].ok  # sampling went on after the hang
    assert len(samples) >= 15


def test_max_in_flight_skips_ticks_instead_of_piling_on():
    monitor = SlowThenFast(timeout=1.0)
    monitor.hang.set()
    loop = SamplingLoop(monitor, interval=0.02, events=None, max_in_flight=2)
    run_for(loop, 0.5)
    monitor.release.set()
    assert monitor.calls <= 2 + 1 and loop.missed > 10


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
