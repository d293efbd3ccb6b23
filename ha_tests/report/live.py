"""A run in progress served to Prometheus: what events.jsonl says so far, at each scrape.

The collector reads the history the runner is writing (the same file every report reads)
and never reaches into the runner: a dashboard sees the fault go in, each monitor's last
probe and the rollback while they happen, and a scenario's headline figures once its
summary.json is written.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ha_tests.report.openmetrics import build_registry
from ha_tests.results import load_summary
from ha_tests.summary import RunSummary


@dataclass
class _ScenarioState:
    """What one scenario's history has said so far."""

    scenario: str = ""
    gap: str = ""
    phase: str = "starting"
    injected: bool = False
    up: dict[str, bool] = field(default_factory=dict)
    samples: Counter = field(default_factory=Counter)  # (monitor, status) -> count
    offset: int = 0  # bytes of events.jsonl read

    def read(self, path: Path) -> None:
        """Take in the complete lines appended since the last read (a line being written is
        left for the next scrape)."""
        with open(path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                self.take(json.loads(line))
            except ValueError:
                continue

    def take(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "run-start":
            self.scenario, self.gap = event.get("scenario", ""), event.get("gap", "")
        elif kind == "phase":
            self.phase = event.get("phase", self.phase)
        elif kind == "attack":
            action = event.get("action")
            if action in ("inject-start", "injected"):
                self.injected = True
            elif action == "rolled-back":
                self.injected = False
        elif kind == "sample":
            status = event.get("status") or ("ok" if event.get("ok") else "fail")
            self.up[event["monitor"]] = status == "ok"
            self.samples[(event["monitor"], status)] += 1
        elif kind == "run-end":
            self.phase, self.injected = "finished", False


PHASES = ["starting", "baseline", "inject", "rollback", "rolled-back", "observe", "window-end",
          "iteration-end", "finished"]


class LiveRunCollector(Collector):
    """Series of the scenario runs appearing under ``results_root`` after it was made."""

    def __init__(self, results_root: Path):
        self.results_root = Path(results_root)
        self._lock = threading.Lock()
        self._before = set(self._histories())
        self._states: dict[Path, _ScenarioState] = {}

    def _histories(self) -> list[Path]:
        if not self.results_root.is_dir():
            return []
        return sorted({*self.results_root.glob("*/events.jsonl"),
                       *self.results_root.glob("*/*/events.jsonl")})

    def _refresh(self) -> list[_ScenarioState]:
        with self._lock:
            for path in self._histories():
                if path in self._before:
                    continue
                state = self._states.setdefault(path, _ScenarioState())
                state.read(path)
            return [s for s in self._states.values() if s.scenario]

    def finished_summaries(self) -> list[RunSummary]:
        found = []
        for path in list(self._states):
            if (path.parent / "summary.json").is_file():
                try:
                    found.append(load_summary(path.parent))
                except Exception:  # noqa: BLE001 - being written: the next scrape reads it
                    continue
        return found

    def collect(self):
        states = self._refresh()
        labels = ["scenario", "gap"]
        injected = GaugeMetricFamily("ha_tests_fault_injected", "1 while the scenario's fault "
                                     "is in force (from injection to verified rollback)",
                                     labels=labels)
        phase = GaugeMetricFamily("ha_tests_phase", "the scenario's phase (1 for the current "
                                  "one)", labels=[*labels, "phase"])
        up = GaugeMetricFamily("ha_tests_monitor_up", "1 when the monitor's latest probe "
                               "succeeded", labels=[*labels, "monitor"])
        samples = CounterMetricFamily("ha_tests_samples", "probes taken, by outcome",
                                      labels=[*labels, "monitor", "status"])
        for state in states:
            key = [state.scenario, state.gap]
            injected.add_metric(key, 1.0 if state.injected else 0.0)
            for name in PHASES:
                phase.add_metric([*key, name], 1.0 if state.phase == name else 0.0)
            for monitor, ok in state.up.items():
                up.add_metric([*key, monitor], 1.0 if ok else 0.0)
            for (monitor, status), count in state.samples.items():
                samples.add_metric([*key, monitor, status], count)
        yield from (injected, phase, up, samples)
        yield from build_registry(self.finished_summaries()).collect()


class LiveEndpoint:
    """``/metrics`` over HTTP for the length of a run (prometheus-client's own server)."""

    def __init__(self, results_root: Path, address: str, port: int):
        self.registry = CollectorRegistry()
        self.collector = LiveRunCollector(results_root)
        self.registry.register(self.collector)
        self._server, self._thread = start_http_server(port, addr=address,
                                                       registry=self.registry)
        self.address, self.port = address, self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def parse_address(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT``; the host defaults to loopback (say 0.0.0.0 to serve a
    Prometheus on another machine)."""
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port)
