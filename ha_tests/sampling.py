"""A monitor's sampling loop: a fixed schedule, one thread per probe, a timeout per probe.

The schedule is absolute (tick k at start + k * interval), so slow probes never make the
sampling drift; each probe runs in its own thread, so one hung probe costs one sample (recorded
as a timeout at start + timeout) and never stalls the monitor or the run.

Time comes from a ``Clock`` (the real one by default), so the schedule's arithmetic can be
checked on virtual time, whatever the load of the machine the tests run on.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from ha_tests.events import EventLog
from ha_tests.metrics import Sample
from ha_tests.monitors.base import Monitor, ProbeResult

MAX_HUNG_PROBES = 32
_NUMBER = re.compile(r"\b\d+(\.\d+)?\b")
_ID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b|"
                 r"\b[0-9a-f]{32}\b")


def failure_reason(status: str, detail: dict) -> str:
    """Why a sample failed, in words that group alike failures: the monitor's own ``reason``
    if it gives one, else its error's first line with numbers and IDs made generic."""
    reason = detail.get("reason")
    if not reason:
        text = str(detail.get("error") or status).strip().splitlines()
        reason = _NUMBER.sub("N", _ID.sub("<id>", text[0] if text else status))
    return str(reason)[:120]


class Clock(Protocol):
    """Where the loop reads the time and waits for its next tick."""

    def now(self) -> float: ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop`` is set; return whether it is set."""


class MonotonicClock:
    """The real clock: ``time.monotonic``, and waits that a stop cuts short."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


@dataclass
class _InFlight:
    start: float
    deadline: float
    done: bool = False


class SamplingLoop:
    def __init__(self, monitor: Monitor, interval: float, events: EventLog | None,
                 iteration: int = 0, max_in_flight: int | None = None,
                 clock: Clock | None = None):
        self.monitor = monitor
        self.clock = clock or MonotonicClock()
        self.max_in_flight = max_in_flight or MAX_HUNG_PROBES
        self.interval = interval
        self.events = events
        self.iteration = iteration
        self.samples: list[Sample] = []
        #: how many failed samples failed for each reason (failure_reason)
        self.failures: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._in_flight: list[_InFlight] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"monitor-{monitor.name}",
                                        daemon=True)
        self.missed = 0

    # -- public ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, drain: bool = True) -> None:
        """Stop scheduling; wait for in-flight probes to finish or time out."""
        self._stop.set()
        self._thread.join()
        if drain:
            while True:
                with self._lock:
                    pending = [p for p in self._in_flight if not p.done]
                if not pending:
                    break
                now = self.clock.now()
                self._expire(now)
                time.sleep(min(0.01, max(0.0, min(p.deadline for p in pending) - now)))

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return sorted(self.samples, key=lambda s: s.start)

    def last_state(self) -> str:
        with self._lock:
            if not self.samples:
                return "…"
            return max(self.samples, key=lambda s: s.start).status

    def recovered(self, since: float, k: int) -> bool:
        """True when K good samples started after `since` and after every failure ended.

        The same rule the metrics close an outage by (a good sample that started after every
        failed one ended), so the runner never stops observing while the metrics would still
        call the outage open. A probe still in flight that started before them could yet
        fail (a boot lost in a killed scheduler is known only at its timeout), so it holds
        the verdict back too.
        """
        with self._lock:
            samples = sorted(self.samples, key=lambda s: s.start)
            oldest_pending = min((p.start for p in self._in_flight if not p.done),
                                 default=None)
        newest = samples[-k:]
        if len(newest) < k or not all(s.ok for s in newest) or newest[0].start < since:
            return False
        failures_end = max((s.end for s in samples if not s.ok), default=-float("inf"))
        return newest[0].start >= failures_end and (
            oldest_pending is None or oldest_pending > newest[-1].start)

    # -- internals ------------------------------------------------------------------------
    def _run(self) -> None:
        origin = self.clock.now()
        tick = 0
        while not self._stop.is_set():
            scheduled = origin + tick * self.interval
            now = self.clock.now()
            self._expire(now)
            if now < scheduled:
                wait = scheduled - now
                with self._lock:
                    deadlines = [p.deadline for p in self._in_flight if not p.done]
                if deadlines:
                    wait = min(wait, max(0.0, min(deadlines) - now))
                self.clock.wait(self._stop, wait)
                continue
            lag_ticks = int((now - scheduled) / self.interval)
            if lag_ticks >= 1:  # we woke too late for whole ticks: count them, do not burst
                self.missed += lag_ticks
                tick += lag_ticks
            self._launch()
            tick += 1

    def _launch(self) -> None:
        with self._lock:
            hung = sum(1 for p in self._in_flight if not p.done)
        start = self.clock.now()
        entry = _InFlight(start, start + self.monitor.timeout)
        if hung >= self.max_in_flight:
            if self.max_in_flight < MAX_HUNG_PROBES:
                self.missed += 1  # a deliberate cap: skip the tick, do not fake a failure
                return
            self._record(entry, Sample(start, start, False, "error"),
                         {"error": f"{hung} probes still hung; not starting another"})
            return
        with self._lock:
            self._in_flight.append(entry)
        threading.Thread(target=self._probe, args=(entry,), daemon=True,
                         name=f"probe-{self.monitor.name}").start()

    def _probe(self, entry: _InFlight) -> None:
        try:
            result = self.monitor.probe()
            status = "ok" if result.ok else "fail"
        except Exception as exc:  # a probe that raises is a failed sample, not a dead monitor
            result = ProbeResult(False, detail={"error": f"{type(exc).__name__}: {exc}"[:500]})
            status = "error"
        end = self.clock.now()
        latency = result.latency if result.latency is not None else end - entry.start
        self._record(entry, Sample(entry.start, end, result.ok, status, latency), result.detail)

    def _expire(self, now: float) -> None:
        with self._lock:
            expired = [p for p in self._in_flight if not p.done and p.deadline <= now]
        for entry in expired:
            self._record(entry, Sample(entry.start, entry.deadline, False, "timeout"),
                         {"error": f"no answer within {self.monitor.timeout:g} s"})

    def _record(self, entry: _InFlight, sample: Sample, detail: dict) -> None:
        with self._lock:
            if entry.done:
                return  # already recorded as a timeout; a late answer changes nothing
            entry.done = True
            self.samples.append(sample)
            if not sample.ok:
                self.failures[failure_reason(sample.status, detail or {})] += 1
            self._in_flight = [p for p in self._in_flight if not p.done]
        if self.events is not None:
            fields = {"monitor": self.monitor.name, "iteration": self.iteration,
                      "start": sample.start, "end": sample.end, "ok": sample.ok,
                      "status": sample.status, "latency": sample.latency}
            if detail:
                fields["detail"] = detail
            self.events.emit("sample", mono=sample.end, **fields)
