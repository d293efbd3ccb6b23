"""One way to run scenarios, whichever front door they came through: plan, then run.

``ha-tests run``, ``validate-deployment``, ``yardstick run``, the pytest plugin and the
Tempest plugin each turn their own arguments into a :class:`Policy` and a list of scenarios;
the Session does the rest once, the same for all: resolve the targets as the run will (seeds
included), decide what is destructive from what each scenario uses, refuse it on an inventory
not marked ``test_target`` without the door's explicit opt-in, take the node locks, keep the
time budget, run, and write the same outputs (each scenario's results directory, the
gap-area CSV, the HTML report, JUnit when asked, ``yardstick.out`` for Yardstick cases).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ha_tests.context import RunContext
from ha_tests.coverage import Coverage, coverage
from ha_tests.destructive import destructive_reasons
from ha_tests.errors import ExitCode, InputError, Problem
from ha_tests.estimate import Countdown
from ha_tests.headline import gate_summary
from ha_tests.inventory import Inventory
from ha_tests.locks import hold, resources
from ha_tests.progress import Progress
from ha_tests.runner import STATUS_EXIT, ScenarioRunner
from ha_tests.scenario import Scenario
from ha_tests.summary import RunSummary, Status
from ha_tests.targets import resolve_targets

#: worst first: the exit code of a multi-scenario run is the worst of its scenarios
EXIT_PRIORITY = [ExitCode.ROLLBACK_FAILED, ExitCode.INTERRUPTED, ExitCode.ERROR,
                 ExitCode.PREFLIGHT_FAILED, ExitCode.BAD_INPUT, ExitCode.SLA_FAILED,
                 ExitCode.NOT_MEASURED, ExitCode.PASS]


def worst_exit(codes: Iterable[int]) -> int:
    codes = list(codes)
    for code in EXIT_PRIORITY:
        if code in codes:
            return code
    return ExitCode.PASS


def default_results_dir() -> Path:
    env = os.environ.get("HA_TESTS_RESULTS")
    if env:
        return Path(env)
    return Path.cwd() / "results"


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


@dataclass(frozen=True)
class Policy:
    """What a door decided from its own arguments; the Session enforces it."""

    #: the door's explicit opt-in to destructive scenarios on a non-test-target inventory
    allow_destructive: bool = False
    #: how a user of this door gives that opt-in (said when a scenario is refused)
    opt_in: str = "pass --i-know-this-is-destructive"
    seed: int | None = None
    #: seconds for the whole plan; scenarios that would start later are skipped
    max_time: float | None = None
    junit: Path | None = None
    junit_name: str = "ha-tests"
    #: names the run's CSV and HTML report (e.g. a profile); default: a UTC time stamp
    label: str | None = None
    png: bool = False
    yardstick_out: Path | None = None
    lock_timeout: float = 3600.0
    #: a post-deploy gate's name (a profile, the demo): the run gets gap-6's own row
    gate: str | None = None
    #: say "scenario 7 of 23, about 9 min left" before each scenario (ha_tests.estimate)
    countdown: bool = False
    #: the least share of the scenarios that must be measured (a profile's
    #: ``min_measured:``, lowered by ``--allow-skips``); None: at least one
    min_measured: float | None = None


@dataclass
class PlannedScenario:
    scenario: Scenario
    #: None only for a Yardstick case that will not run (its task has no pod)
    inventory: Inventory | None
    seed: int
    #: target name -> nodes, as the run picks them
    targets: dict[str, list[str]] = field(default_factory=dict)
    #: target name -> why it could not be resolved
    unresolved: dict[str, str] = field(default_factory=dict)
    #: what in the scenario can change the cloud; empty: not destructive
    destructive: list[str] = field(default_factory=list)
    #: node (and VIP) locks held while it runs
    locks: list[str] = field(default_factory=list)
    #: why it will not run at all (a precondition the inventory does not meet)
    skip: str | None = None
    #: a Yardstick case: its task, run through ha_tests.yardstick.run
    case: Any = None
    task: Any = None

    @property
    def name(self) -> str:
        return self.scenario.name

    def describe(self) -> list[str]:
        scenario = self.scenario
        on = f", on '{self.inventory.name}'" if self.inventory is not None else ""
        lines = [f"{scenario.name} ({scenario.gap}) — would, with seed {self.seed} "
                 f"(--seed {self.seed} replays it){on}:"]
        if self.skip:
            return [*lines, f"  skip: {self.skip}"]
        for name, nodes in self.targets.items():
            own = scenario.model.targets[name].seed
            lines.append(f"  target {name}: {', '.join(nodes) or '(no node)'}"
                         + (f" (its own seed {own})" if own is not None else ""))
        for name, why in self.unresolved.items():
            lines.append(f"  target {name}: UNRESOLVED: {why}")
        for step, use in enumerate(scenario.attackers, 1):
            where = self._where(use.target)
            params = use.params.model_dump(exclude_defaults=True)
            lines.append(f"  {step}. {use.type} on {where} {params}")
        for use in scenario.operations:
            params = use.params.model_dump(exclude_defaults=True, exclude_none=True)
            lines.append(f"  operation {use.name}: {use.type} on {self._where(use.target)} "
                         f"at {use.spec.at} {params}")  # type: ignore[attr-defined]
        for use in scenario.monitors:
            lines.append(f"  monitor {use.name}: {use.type} every "
                         f"{use.spec.interval:g} s")  # type: ignore[attr-defined]
        lines.append("  destructive: " + ("; ".join(self.destructive) if self.destructive
                                          else "no (no attacker, operation or command "
                                               "monitor)"))
        lines.append("  locks: " + (", ".join(self.locks) or "none"))
        return lines

    def _where(self, target: str | None) -> str:
        if not target:
            return "the runner/cloud"
        if target in self.unresolved:
            return f"<unresolved target {target}>"
        return ", ".join(self.targets.get(target, [])) or f"<no node for {target}>"


class DestructiveRefused(InputError):
    """A destructive scenario against an inventory not marked test_target, without opt-in."""


@dataclass
class Plan:
    entries: list[PlannedScenario]
    policy: Policy

    def refused(self) -> list[PlannedScenario]:
        if self.policy.allow_destructive:
            return []
        return [e for e in self.entries if e.destructive and e.inventory is not None
                and not e.inventory.test_target]

    def refusal(self) -> DestructiveRefused | None:
        """The error a door reports (or turns into a skip) when the plan may not run."""
        refused = self.refused()
        if not refused:
            return None
        problems = []
        for entry in refused:
            assert entry.inventory is not None
            where = entry.inventory.source_file or "<inventory>"
            problems.append(Problem(
                where, None, None, "test_target",
                f"refusing destructive scenario '{entry.name}' on '{entry.inventory.name}', "
                "which is not marked as a test target (it uses "
                + "; ".join(entry.destructive) + "; its own 'destructive:' does not count)",
                "set 'test_target: true' in the inventory (for a pod.yaml: pass --inventory "
                f"with 'test_target: true') or {self.policy.opt_in}"))
        return DestructiveRefused(problems)

    def unresolved(self) -> list[str]:
        return [f"{e.name}: target '{t}': {why}" for e in self.entries
                for t, why in e.unresolved.items()]

    def describe(self) -> str:
        return "\n".join(line for entry in self.entries for line in entry.describe())


@dataclass
class Ran:
    """One planned scenario after the run: what happened and where it is written."""

    entry: PlannedScenario
    status: Status
    summary: RunSummary | None
    result_dir: Path | None
    #: the Yardstick CaseResult, for a Yardstick case
    case: Any = None
    #: seconds spent waiting for another run's node locks
    waited: float = 0.0

    @property
    def exit_code(self) -> int:
        return STATUS_EXIT.get(self.status, ExitCode.PASS)

    @property
    def why(self) -> str | None:
        """Why it was not measured, as its summary (or Yardstick case) says."""
        if self.case is not None and getattr(self.case, "skipped", None):
            return self.case.skipped
        if self.summary is None:
            return None
        return self.summary.skip_reason or self.summary.error


@dataclass
class SessionResult:
    ran: list[Ran]
    #: how much was measured, counted once when the run ended (the reporters got this one)
    coverage: Coverage
    #: what the run wrote besides the results directories: csv, html, junit, yardstick
    outputs: dict[str, Path] = field(default_factory=dict)
    #: the post-deploy gate's own row (gap-6), when the policy names a gate
    gate_row: dict[str, Any] | None = None

    @property
    def summaries(self) -> list[RunSummary]:
        return [r.summary for r in self.ran if r.summary is not None]

    @property
    def table(self) -> list[RunSummary | dict[str, Any]]:
        """What the gap-area table shows: each scenario, then the gate's own row."""
        return [*self.summaries, *([self.gate_row] if self.gate_row else [])]

    @property
    def exit_code(self) -> int:
        """The worst scenario's code; a run that measured less than its gate needs is
        ``NOT_MEASURED``, never a pass."""
        codes = [r.exit_code for r in self.ran]
        if not self.coverage.enough:
            codes.append(ExitCode.NOT_MEASURED)
        return worst_exit(codes)


def measured(ran: Iterable[Ran], least: float | None = None) -> Coverage:
    return coverage(((r.entry.name, r.status, r.why) for r in ran), least)


def print_dry_run(plan: Plan) -> int:
    """``--dry-run`` at any door: the plan on stdout; on stderr what a real run would refuse
    (a dry run touches nothing, so it needs no opt-in) and each target it cannot resolve,
    which makes the exit code 2."""
    print(plan.describe())
    refusal = plan.refusal()
    if refusal is not None:
        _stderr(f"note: a real run would refuse these (a dry run touches nothing):\n{refusal}")
    unresolved = plan.unresolved()
    if unresolved:
        _stderr("error: the run could not resolve:\n  " + "\n  ".join(unresolved))
        return ExitCode.BAD_INPUT
    return ExitCode.PASS


class Session:
    """``Session(inventory, results, policy)``: ``plan(scenarios)``, then ``run(plan)``."""

    def __init__(self, inventory: Inventory | None, results: str | Path, policy: Policy, *,
                 progress: Progress | None = None,
                 say: Callable[[str], None] | None = None):
        self.inventory = inventory
        self.results = Path(results)
        self.policy = policy
        self.progress = progress or Progress(quiet=True)
        #: where notes for a person go (the CLI: stderr; the test plugins: nowhere)
        self.say = say or (lambda _text: None)

    # -- planning ---------------------------------------------------------------------------
    def plan(self, scenarios: Iterable[Scenario] = (), tasks: Iterable[Any] = ()) -> Plan:
        """Native scenarios against the session's inventory, then Yardstick tasks (each
        against its own pod). Touches nothing but what picking a VIP holder reads."""
        entries: list[PlannedScenario] = []
        scenarios = list(scenarios)
        if scenarios and self.inventory is None:
            raise InputError(Problem("<inventory>", None, None, "", "no inventory to run the "
                                     "scenarios against", "pass --inventory FILE"))
        for scenario in scenarios:
            assert self.inventory is not None
            entries.append(self._planned(scenario, self.inventory))
        for task in tasks:
            for case in task.cases:
                if task.skipped or task.inventory is None:
                    entry = PlannedScenario(case.scenario, task.inventory, self._seed(),
                                            case=case, task=task)
                    entry.skip = f"precondition not met: {task.skipped}" if task.skipped \
                        else "no pod.yaml to run against (pass --pod pod.yaml)"
                    entries.append(entry)
                    continue
                entry = self._planned(case.scenario, task.inventory)
                entry.case, entry.task = case, task
                entries.append(entry)
        return Plan(entries, self.policy)

    def _seed(self) -> int:
        if self.policy.seed is not None:
            return self.policy.seed
        return random.SystemRandom().randrange(2**31)

    def _planned(self, scenario: Scenario, inventory: Inventory) -> PlannedScenario:
        entry = PlannedScenario(scenario, inventory, self._seed(),
                                destructive=destructive_reasons(scenario),
                                locks=resources(scenario, inventory))
        missing = [r for r in scenario.model.requires if r not in inventory.services]
        if missing:
            entry.skip = "the inventory lacks services this scenario needs: " + \
                ", ".join(missing)
            return entry
        entry.targets, entry.unresolved = _resolve(scenario, inventory, entry.seed)
        return entry

    @staticmethod
    def countdown(plan: Plan) -> Countdown:
        """The plan's time estimate; a scenario that will be skipped counts as none."""
        return Countdown([e.scenario for e in plan.entries],
                         frozenset(e.name for e in plan.entries if e.skip))

    # -- running ----------------------------------------------------------------------------
    def run(self, plan: Plan) -> SessionResult:
        refusal = plan.refusal()
        if refusal is not None:
            raise refusal
        started = time.monotonic()
        budget = self.policy.max_time
        ran: list[Ran] = []
        catalogs: dict[int, Any] = {}
        countdown = self.countdown(plan) if self.policy.countdown else None
        for entry in plan.entries:
            if countdown is not None:
                self.say(f"== {countdown.next(entry.scenario)}")
            if budget is not None and time.monotonic() - started >= budget:
                ran.append(_skipped(entry, f"time budget of {budget:g} s used up"))
                continue
            if entry.case is not None and entry.skip:
                ran.append(_skipped(entry, entry.skip))
                continue
            assert entry.inventory is not None
            with hold(entry.inventory, entry.locks, self.policy.lock_timeout) as waited:
                done = self._run_one(entry, catalogs)
            done.waited = waited
            ran.append(done)
            if done.result_dir is not None:
                self.say(f"results: {done.result_dir}")
            if done.status is Status.INTERRUPTED:
                break
        result = SessionResult(ran, measured(ran, self.policy.min_measured))
        if self.policy.gate:
            result.gate_row = gate_summary(self.policy.gate, result.summaries,
                                           result.exit_code, time.monotonic() - started)
        result.outputs = self._write_outputs(ran, result.coverage, result.gate_row)
        return result

    def _run_one(self, entry: PlannedScenario, catalogs: dict[int, Any]) -> Ran:
        assert entry.inventory is not None
        if entry.case is None:
            outcome = ScenarioRunner(entry.scenario, entry.inventory, self.results,
                                     seed=entry.seed, progress=self.progress,
                                     locks=entry.locks).run()
            return Ran(entry, outcome.status, outcome.result, outcome.result_dir)
        from ha_tests.yardstick.run import catalog_services, run_case

        task = entry.task
        if id(task) not in catalogs:
            needs = any(c.mapped.needs or c.mapped.attack_needs for c in task.cases)
            catalogs[id(task)] = catalog_services(task.inventory) if needs else None
        case = run_case(entry.case, entry.inventory, self.results, catalogs[id(task)],
                        seed=entry.seed, progress=self.progress, locks=entry.locks)
        for name, why in case.not_applicable.items():
            self.say(f"not applicable: {case.scenario}: {name}: {why}")
        if case.skipped:
            self.say(f"skipped: {case.scenario}: {case.skipped}")
        return Ran(entry, case.status, case.summary,
                   Path(case.result_dir) if case.result_dir else None, case=case)

    # -- outputs ----------------------------------------------------------------------------
    def _write_outputs(self, ran: list[Ran], gate: Coverage,
                       gate_row: dict[str, Any] | None = None) -> dict[str, Path]:
        """The same outputs whichever door ran the plan: every registered reporter's, each
        saying how much was measured (``gate``, the run's one Coverage) and, for a
        post-deploy gate, its gap-6 row (``RunOutputs.gate_row``)."""
        from ha_tests.reporters import RunOutputs, write_all

        summaries = [r.summary for r in ran if r.summary is not None]
        finished = next((s.finished for s in summaries if s.finished), None)
        stamp = (finished or dt.datetime.now(dt.UTC).isoformat())[:19].replace(":", "")
        stem = f"{stamp}-{self.policy.label}" if self.policy.label else stamp
        return write_all(RunOutputs(
            self.results, stem, self.policy, summaries=summaries,
            result_dirs=[r.result_dir for r in ran if r.result_dir],
            cases=[r.case for r in ran if r.case is not None], say=self.say, gate=gate,
            gate_row=gate_row))


def _resolve(scenario: Scenario, inventory: Inventory,
             seed: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Targets as the run resolves them; each one that cannot be is named with why."""
    ctx = RunContext(inventory)
    errors: dict[str, str] = {}
    try:
        resolved = resolve_targets(scenario, inventory, ctx.shells, seed, errors=errors)
    finally:
        ctx.close()
    unresolved = {name: f"{why} (fix the inventory or the scenario's 'targets:', then run "
                  "--dry-run again)" for name, why in errors.items()}
    return {k: [n.name for n in v] for k, v in resolved.items()}, unresolved


def _skipped(entry: PlannedScenario, why: str) -> Ran:
    scenario = entry.scenario
    if entry.case is not None:
        from ha_tests.yardstick.output import CaseResult

        case = CaseResult(entry.case.test_case, entry.case.name, dict(entry.case.mapped.tags),
                          None, skipped=why)
        return Ran(entry, Status.SKIPPED, None, None, case=case)
    return Ran(entry, Status.SKIPPED, RunSummary.skipped(scenario.name, scenario.gap, why), None)
