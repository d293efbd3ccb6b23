"""Runs one scenario: preflight, baseline, inject, observe, roll back, verify, verdict.

The runner writes history (events.jsonl) and nothing else decides a verdict but the metrics
computed from that history. Rollback runs on every exit path: success, SLA failure, exception,
timeout, SIGINT and SIGTERM; signals arriving during rollback are deferred, not obeyed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ha_tests import __version__
from ha_tests.analysis import analyze
from ha_tests.attackers.base import Attacker
from ha_tests.context import RunContext
from ha_tests.errors import (
    CloudUnreachable,
    ExitCode,
    HaTestsError,
    InputError,
    Interrupted,
    PreflightError,
)
from ha_tests.events import EventLog
from ha_tests.fault_guard import FaultGuard
from ha_tests.inventory import Inventory, Node
from ha_tests.ledger import Ledger
from ha_tests.monitors.base import Monitor
from ha_tests.operations.steps import OperationSteps
from ha_tests.progress import Progress
from ha_tests.sampling import SamplingLoop
from ha_tests.scenario import PluginUse, Scenario
from ha_tests.summary import RunSummary, Status
from ha_tests.targets import resolve_targets

log = logging.getLogger(__name__)

#: how long a monitor's preflight is asked again while it cannot reach the cloud, and how often
SETTLE_TIMEOUT = 60.0
SETTLE_INTERVAL = 2.0

STATUS_EXIT = {
    "pass": ExitCode.PASS,
    "fail": ExitCode.SLA_FAILED,
    "skipped": ExitCode.PASS,
    "preflight-failed": ExitCode.PREFLIGHT_FAILED,
    "rollback-failed": ExitCode.ROLLBACK_FAILED,
    "error": ExitCode.ERROR,
    "interrupted": ExitCode.INTERRUPTED,
}


@dataclass
class RunOutcome:
    """What a run found: ``result`` is its typed summary (ha_tests.summary.RunSummary)."""

    status: Status
    result_dir: Path | None
    result: RunSummary | None = None

    @property
    def summary(self) -> dict[str, Any]:
        """Deprecated: summary.json's object by key, kept for users' tests written before
        the models (``outcome.summary["sla_failures"]``); read ``result`` instead."""
        warnings.warn("RunOutcome.summary (a dict) is deprecated: read RunOutcome.result, "
                      "the typed RunSummary (outcome.result.sla_failures)",
                      DeprecationWarning, stacklevel=2)
        return {} if self.result is None else self.result.to_json()

    @property
    def exit_code(self) -> int:
        return STATUS_EXIT[self.status]


class _SignalGuard:
    """SIGINT/SIGTERM raise Interrupted in the main thread, except while rolling back."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.rolling_back = False
        self.pending: int | None = None
        self._saved: dict[int, Any] = {}

    def _handler(self, signum, _frame):
        if self.rolling_back:
            self.pending = signum
            self.progress.note(f"{signal.Signals(signum).name} received: finishing rollback "
                               "first, so no fault is left behind")
            return
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}")

    def raise_pending(self) -> None:
        """Raise the Interrupted that arrived while rolling back, now that it is done."""
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise Interrupted(f"interrupted by {signal.Signals(signum).name}")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        return False


def _utc_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


class ScenarioRunner:
    def __init__(self, scenario: Scenario, inventory: Inventory, results_root: Path, *,
                 seed: int | None = None, progress: Progress | None = None,
                 monitor_overrides: dict[str, dict] | None = None,
                 locks: list[str] | None = None):
        self.scenario = scenario
        #: the node locks its Session holds for it (recorded in the history)
        self.locks = locks
        self.inventory = inventory
        self.results_root = Path(results_root)
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self.progress = progress or Progress(quiet=True)
        self.result_dir = self.results_root / f"{_utc_stamp()}-{scenario.name}"
        self.attackers: list[Attacker] = []
        self.monitors: list[tuple[PluginUse, Monitor]] = []
        #: injected in the current iteration and not yet rolled back
        self.injected: list[Attacker] = []
        #: every attacker that ever injected: all get the final heal
        self.ever_injected: list[Attacker] = []
        self.targets: dict[str, list[str]] = {}
        self.skip_reason: str | None = None
        self.ledger = Ledger()
        #: each attacker's ledger entry, from before its first inject until healed
        self._guards: dict[int, FaultGuard] = {}
        self.operations: OperationSteps | None = None

    # -- building ---------------------------------------------------------------------------
    def _resolve_targets(self, ctx: RunContext) -> dict[str, list[Node]]:
        return resolve_targets(self.scenario, self.inventory, ctx.shells, self.seed)

    def _build(self, ctx: RunContext, targets: dict[str, list[Node]]) -> None:
        for use in self.scenario.attackers:
            nodes = targets.get(use.target, []) if use.target else []
            self.attackers.append(use.cls(use.name, use.params, nodes, ctx))
        for use in self.scenario.monitors:
            nodes = targets.get(use.target, []) if use.target else []
            timeout = use.spec.probe_timeout  # type: ignore[attr-defined]
            self.monitors.append((use, use.cls(use.name, use.params, nodes, ctx,
                                               timeout=timeout)))
        operations = []
        for use in self.scenario.operations:
            nodes = targets.get(use.target, []) if use.target else []
            operations.append((use, use.cls(use.name, use.params, nodes, ctx,
                                            timeout=use.spec.timeout)))  # type: ignore
        self.operations = OperationSteps(
            operations, ctx.events, self.progress,  # type: ignore[arg-type]
            ledger=self.ledger, scenario=self.scenario.name,
            inventory=self.inventory.identity)

    def _missing_requirements(self) -> list[str]:
        return [r for r in self.scenario.model.requires if r not in self.inventory.services]

    # -- phases -----------------------------------------------------------------------------
    def _preflight(self, ctx: RunContext, events: EventLog) -> None:
        self.progress.phase("preflight", "targets reachable, preconditions, steady state")
        nodes = {n.name: n for nodes in self._target_nodes.values() for n in nodes}
        for node in nodes.values():
            try:
                ctx.shell(node).run(["true"], timeout=10).check()
            except HaTestsError as exc:
                raise PreflightError(f"target {node.name} unreachable: {exc}") from None
        for attacker in self.attackers:
            attacker.preflight()
        for use, monitor in self.monitors:
            self._set_up(use.name, monitor, events)
        if self.operations is not None:
            self.operations.preflight()
        self._steady_state("before", events)

    def _set_up(self, name: str, monitor: Monitor, events: EventLog) -> None:
        """A monitor's setup, asked again for up to SETTLE_TIMEOUT while it cannot reach the
        cloud: after another scenario, the cloud may still be settling (a VIP failing back
        to the node that returned), and that is not this scenario's preflight failing."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            try:
                monitor.setup()
                return
            except CloudUnreachable as exc:
                if time.monotonic() >= deadline:
                    raise
                events.emit("preflight-retry", monitor=name, error=str(exc))
                self.progress.note(f"{exc}; asking again for up to {SETTLE_TIMEOUT:g} s (the "
                                   "cloud may still be settling)")
                with contextlib.suppress(Exception):
                    monitor.teardown()
                time.sleep(SETTLE_INTERVAL)

    def _steady_state(self, phase: str, events: EventLog) -> list[str]:
        wanted = getattr(self.scenario.model.steady_state, phase)
        samples = self.scenario.model.steady_state.samples
        names = wanted if wanted is not None else [u.name for u, _ in self.monitors
                                                   if u.spec.gate]  # type: ignore[attr-defined]
        failures = []
        # before injection the cloud may still be settling after another scenario's fault (a
        # node that came back still starting its services): asked for up to SETTLE_TIMEOUT
        # before the run is called preflight-failed; after the run, only the usual tries
        deadline = time.monotonic() + (SETTLE_TIMEOUT if phase == "before" else 0.0)
        for use, monitor in self.monitors:
            if use.name not in names:
                continue
            good = attempt = 0
            while True:
                ok, detail = _probe_once(monitor)
                good, attempt = (good + 1 if ok else 0), attempt + 1
                if good >= samples or (attempt >= samples * 3
                                       and time.monotonic() >= deadline):
                    break
                if attempt == samples * 3:
                    events.emit("steady-state-wait", monitor=use.name, detail=detail)
                    self.progress.note(
                        f"{use.name}: steady state does not hold yet "
                        f"({detail.get('error', 'probe failed')}); probing again for up to "
                        f"{SETTLE_TIMEOUT:g} s (the cloud may still be settling)")
                time.sleep(min(use.spec.interval, 1.0))  # type: ignore[attr-defined]
            events.emit("steady-state", phase=phase, monitor=use.name, ok=good >= samples,
                        detail=detail)
            if good < samples:
                failures.append(f"{use.name}: {detail.get('error', 'probe failed')}")
        if failures and phase == "before":
            raise PreflightError("steady state does not hold before injection: "
                                 + "; ".join(failures))
        return failures

    def _iteration(self, index: int, ctx: RunContext, events: EventLog, guard: _SignalGuard):
        timing = self.scenario.model.timing
        operations = self.operations
        assert operations is not None
        loops = [SamplingLoop(monitor, use.spec.interval, events, index,  # type: ignore
                              use.spec.max_in_flight)  # type: ignore[attr-defined]
                 for use, monitor in self.monitors]
        try:
            for loop in loops:
                loop.start()
            events.emit("phase", phase="baseline", iteration=index, duration=timing.baseline)
            self.progress.phase("baseline", f"{timing.baseline:g} s of normal service")
            self._wait(timing.baseline, loops)
            operations.run_at("before-inject", index)

            t0 = time.monotonic()
            events.emit("phase", phase="inject", iteration=index, mono=t0)
            events.sync()
            for attacker in self.attackers:
                self.progress.phase("inject", attacker.describe())
                fault = self._fault_guard(attacker)
                fault.record()
                self.injected.append(attacker)
                if attacker not in self.ever_injected:
                    self.ever_injected.append(attacker)
                events.emit("attack", attacker=attacker.name, action="inject-start",
                            nodes=[n.name for n in attacker.nodes])
                detail = {**fault.inject(), **attacker.injection_timing()}
                events.emit("attack", attacker=attacker.name, action="injected", detail=detail)
            operations.run_at("after-inject", index)
            if timing.fault_duration:
                self.progress.phase("hold", f"fault held for {timing.fault_duration:g} s")
                self._wait(timing.fault_duration, loops)

            events.emit("phase", phase="rollback", iteration=index)
            self._rollback(self.injected, events, guard)
            self.injected = []
            rolled_back = events.emit("phase", phase="rolled-back", iteration=index)["mono"]
            operations.run_at("after-rollback", index)

            self.progress.phase("observe", "until every monitor recovers "
                                f"({timing.recovered_after} good samples in a row)")
            events.emit("phase", phase="observe", iteration=index)
            deadline = rolled_back + timing.recovery_timeout
            min_end = t0 + timing.observe
            while True:
                now = time.monotonic()
                gated = [loop for (use, _), loop in zip(self.monitors, loops, strict=True)
                         if use.spec.gate]  # type: ignore[attr-defined]
                if now >= min_end and all(loop.recovered(rolled_back, timing.recovered_after)
                                          for loop in gated):
                    break
                if now >= deadline:
                    events.emit("recovery-timeout", iteration=index,
                                timeout=timing.recovery_timeout)
                    self.progress.note(f"not recovered within {timing.recovery_timeout:g} s "
                                       "of rollback")
                    break
                self.progress.live(loops, now - t0)
                time.sleep(0.1)
            operations.run_at("after-observe", index)
        finally:
            for (use, _monitor), loop in zip(self.monitors, loops, strict=True):
                loop.stop()
                events.emit("monitor-stopped", monitor=use.name, iteration=index,
                            missed=loop.missed)
            events.emit("phase", phase="window-end", iteration=index)
            guard.rolling_back = True  # Ctrl-C now waits for the undo
            try:
                operations.undo(index)
            finally:
                guard.rolling_back = False
            guard.raise_pending()
            events.emit("phase", phase="iteration-end", iteration=index)
            events.sync()

    def _wait(self, seconds: float, loops: list[SamplingLoop]) -> None:
        end = time.monotonic() + seconds
        start = time.monotonic()
        while (now := time.monotonic()) < end:
            self.progress.live(loops, now - start)
            time.sleep(min(0.1, end - now))

    def _rollback(self, attackers: list[Attacker], events: EventLog, guard: _SignalGuard,
                  final: bool = False) -> None:
        """Roll back (or finally heal) and verify the given faults, newest first."""
        guard.rolling_back = True
        try:
            for attacker in reversed(attackers):
                entry: dict[str, Any] = {"attacker": attacker.name, "final": final}
                self.progress.phase("heal" if final else "rollback", attacker.describe())
                events.emit("attack", attacker=attacker.name,
                            action="heal-start" if final else "rollback-start")
                done = self._fault_guard(attacker).roll_back(final=final)  # clears when healed
                entry["ok"] = done.ok
                if done.detail is not None:
                    entry["detail"] = done.detail
                if done.error is not None:  # reported loudly, never swallowed
                    entry["error"] = done.error
                    self.progress.alarm(f"ROLLBACK FAILED for {attacker.describe()}: "
                                        f"{done.error.partition(': ')[2]}")
                events.emit("attack", attacker=attacker.name,
                            action="healed" if final else "rolled-back", ok=entry["ok"],
                            error=entry.get("error"), detail=entry.get("detail"))
        finally:
            events.sync()
            guard.rolling_back = False
        if not final:
            guard.raise_pending()

    def _fault_guard(self, attacker: Attacker) -> FaultGuard:
        """The attacker's ledger entry from before its first inject until it is healed."""
        if id(attacker) not in self._guards:
            use = next(u for u in self.scenario.attackers if u.name == attacker.name)
            self._guards[id(attacker)] = FaultGuard(
                self.ledger, attacker, plugin_type=use.type, scenario=self.scenario.name,
                inventory=self.inventory.identity)
        return self._guards[id(attacker)]

    # -- the whole run ----------------------------------------------------------------------
    def run(self) -> RunOutcome:
        self.result_dir.mkdir(parents=True, exist_ok=False)
        ctx = RunContext(self.inventory)
        ctx.fault_duration = self.scenario.model.timing.fault_duration or None
        events = EventLog(self.result_dir / "events.jsonl", ctx.secrets())
        ctx.events = events
        status = "pass"
        error: str | None = None
        self._target_nodes: dict[str, list[Node]] = {}
        events.emit("run-start", scenario=self.scenario.name, gap=self.scenario.gap,
                    file=self.scenario.file, inventory=self.inventory.name, seed=self.seed,
                    version=__version__, wall_iso=dt.datetime.now(dt.UTC).isoformat(),
                    description=self.scenario.model.description,
                    tags=self.scenario.model.tags,
                    timing=self.scenario.model.timing.model_dump(mode="json"),
                    monitors=[{"name": use.name, "type": use.type,
                               "gate": use.spec.gate,  # type: ignore[attr-defined]
                               "sla": self.scenario.sla_for(use),
                               "interval": use.spec.interval}  # type: ignore[attr-defined]
                              for use in self.scenario.monitors],
                    # the gap area's question, answered by the analysis (ha_tests.headline)
                    headline=self.scenario.model.headline.model_dump(mode="json"))
        if self.locks is not None:
            events.emit("locks", held=self.locks)
        self.progress.start(self.scenario)
        with _SignalGuard(self.progress) as guard:
            try:
                from ha_tests.heal import blocks_runs, heal_orphans

                leftovers = heal_orphans(self.ledger, self.inventory, self.progress)
                if leftovers:
                    events.emit("ledger-heal", results=leftovers)
                    for failed in (r for r in leftovers if not r["ok"]):
                        self.progress.alarm(f"left by an earlier run: {failed['attacker']}: "
                                            f"{failed.get('error')}")
                    blocking = [r for r in leftovers if blocks_runs(r)]
                    if blocking:
                        raise PreflightError(
                            "faults left by an earlier run could not be healed; run "
                            "'ha-tests heal' and check the nodes: "
                            + "; ".join(f"{r['attacker']}: {r.get('error')}" for r in blocking))
                missing = self._missing_requirements()
                if missing:
                    self.skip_reason = ("the inventory lacks services this scenario needs: "
                                        + ", ".join(missing))
                    status = "skipped"
                    self.progress.note(f"skipped: {self.skip_reason}")
                else:
                    self._target_nodes = self._resolve_targets(ctx)
                    self.targets = {k: [n.name for n in v] for k, v in self._target_nodes.items()}
                    events.emit("targets", targets=self.targets, seed=self.seed)
                    self._build(ctx, self._target_nodes)
                    events.emit("attackers", attackers=[
                        {"name": a.name, "type": type(a).__name__,
                         "nodes": [n.name for n in a.nodes]} for a in self.attackers])
                    self._preflight(ctx, events)
                    for index in range(self.scenario.model.repeat):
                        self._iteration(index, ctx, events, guard)
                    after = self._steady_state("after", events)
                    if after:
                        error = "steady state not restored: " + "; ".join(after)
            except Interrupted as exc:
                status, error = "interrupted", str(exc)
            except InputError:
                raise
            except PreflightError as exc:
                status, error = "preflight-failed", str(exc)
            except HaTestsError as exc:
                status, error = "error", str(exc)
            except Exception as exc:
                status, error = "error", f"{type(exc).__name__}: {exc}"
                events.emit("exception", traceback=traceback.format_exc())
            finally:
                # every exit path: roll back what is still injected, then heal everything
                with contextlib.suppress(Interrupted):
                    if self.injected:
                        self._rollback(self.injected, events, guard)
                        self.injected = []
                if self.ever_injected:
                    self._rollback(self.ever_injected, events, guard, final=True)
                for _use, monitor in self.monitors:
                    with contextlib.suppress(Exception):
                        monitor.teardown()
                ctx.close()
        if error:
            events.emit("error", status=status, message=error)
            if status not in ("interrupted",):
                self.progress.note(error)
        events.emit("run-end", status=status, error=error, skip_reason=self.skip_reason)
        events.close()
        summary = analyze(self.result_dir)  # the history is the truth: summary from it alone
        self.progress.finish(summary)
        return RunOutcome(summary.status, self.result_dir, summary)


def _probe_once(monitor: Monitor) -> tuple[bool, dict]:
    """One probe outside the sampling loop (steady-state checks), bounded by its timeout."""
    box: dict[str, Any] = {}

    def target():
        try:
            result = monitor.probe()
            box["ok"], box["detail"] = result.ok, result.detail
        except Exception as exc:
            box["ok"], box["detail"] = False, {"error": f"{type(exc).__name__}: {exc}"}

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(monitor.timeout)
    if thread.is_alive():
        return False, {"error": f"no answer within {monitor.timeout:g} s"}
    return box["ok"], box.get("detail") or {}
