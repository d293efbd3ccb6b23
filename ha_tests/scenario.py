"""A scenario file, validated into typed models before anything is touched.

Format: README.rst ("Scenario files"). Attackers and monitors carry their plugin's own typed
parameters inline; those are validated by the plugin's ``Params`` model in a second pass,
so a misspelt parameter is reported at its own line with a "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from ha_tests import plugins
from ha_tests.errors import InputError, Problem
from ha_tests.validation import StrictModel, allowed_keys, problems_from, validate
from ha_tests.variables import variables_used
from ha_tests.yamlsource import SourceMap, did_you_mean, load_file

GAP_AREAS = ("gap-1", "gap-2", "gap-3", "gap-4", "gap-5", "gap-6", "classic")
GapArea = Literal["gap-1", "gap-2", "gap-3", "gap-4", "gap-5", "gap-6", "classic"]

#: OPNFV service availability levels: (max detection s, max recovery s)
SAL_TIERS = {"SAL1": (1.0, 6.0), "SAL2": (5.0, 15.0), "SAL3": (10.0, 25.0)}

Pick = Literal["one", "minority", "majority", "all", "vip-holder", "not-vip-holder"]


class TargetSpec(StrictModel):
    """Which nodes: by name or role, narrowed by a blast radius (Jepsen's vocabulary)."""

    nodes: list[str] = []
    role: str | None = None
    service: str | None = None
    pick: Pick = "all"
    vip: str = "api"
    #: seed of the random pick for one/minority/majority; recorded so a run can be replayed
    seed: int | None = None

    @model_validator(mode="after")
    def _selects_something(self):
        if not (self.nodes or self.role or self.service):
            raise ValueError("a target needs 'nodes', 'role' or 'service'")
        return self


class Sla(StrictModel):
    """Limits in seconds; a named OPNFV tier fills detection and recovery."""

    tier: Literal["SAL1", "SAL2", "SAL3"] | None = None
    max_detection: float | None = Field(None, ge=0)
    max_outage: float | None = Field(None, ge=0)
    max_recovery: float | None = Field(None, ge=0)
    min_availability: float | None = Field(None, ge=0, le=1)
    max_errors: int | None = Field(None, ge=0)
    #: median latency during the fault over the baseline's, minus 1 (0.5: 50 % slower),
    #: judged on its upper bound
    max_degradation: float | None = Field(None, ge=0)

    def limits(self) -> dict[str, float]:
        values: dict[str, float] = {}
        if self.tier:
            values["max_detection"], values["max_recovery"] = SAL_TIERS[self.tier]
        for key in ("max_detection", "max_outage", "max_recovery", "min_availability",
                    "max_errors", "max_degradation"):
            if getattr(self, key) is not None:
                values[key] = getattr(self, key)
        return values


class Timing(StrictModel):
    baseline: float = Field(5.0, ge=0, le=3600, description="seconds sampled before injection")
    fault_duration: float = Field(0.0, ge=0, le=3600,
                                  description="seconds the fault is held before rollback")
    observe: float = Field(10.0, ge=0, le=7200,
                           description="minimum seconds observed after injection")
    recovery_timeout: float = Field(60.0, gt=0, le=7200,
                                    description="seconds after rollback to wait for recovery")
    recovered_after: int = Field(3, ge=1, le=1000,
                                 description="consecutive good samples that mean recovered")


class PluginSpec(StrictModel):
    """Common keys of an attacker or monitor entry; everything else is the plugin's."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    name: str | None = None
    target: str | None = None

    def plugin_params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class AttackerSpec(PluginSpec):
    pass


class MonitorSpec(PluginSpec):
    interval: float = Field(1.0, gt=0, le=3600)
    timeout: float | None = Field(None, gt=0, le=3600)
    sla: Sla | None = None
    #: False for monitors that only observe (e.g. the killed process itself): no SLA verdict
    gate: bool = True
    #: at most this many probes running at once; a tick finding them all busy is counted as
    #: missed instead of piling more load onto a struggling service (timed-out requests stay
    #: queued in the server: without a cap, the monitor itself can cause the outage)
    max_in_flight: int = Field(2, ge=1, le=32)

    @property
    def probe_timeout(self) -> float:
        return self.timeout if self.timeout is not None else max(min(self.interval * 2, 5.0), 0.5)


#: where an operation runs in an iteration, in timeline order
OPERATION_POINTS = ("before-inject", "after-inject", "after-rollback", "after-observe")
OperationPoint = Literal["before-inject", "after-inject", "after-rollback", "after-observe"]
#: Yardstick's result-checker conditions
CONDITIONS = ("eq", "in", "gt", "gt_eq", "lt", "lt_eq")


class Expect(StrictModel):
    """A check on an operation's output (Yardstick's result checker)."""

    condition: Literal["eq", "in", "gt", "gt_eq", "lt", "lt_eq"] = "in"
    value: str | int | float

    def holds(self, output: str) -> tuple[bool, str]:
        """(passed, why) for what the operation printed."""
        text = output.strip()
        if isinstance(self.value, int | float) and not isinstance(self.value, bool):
            try:
                actual: Any = type(self.value)(text)
            except ValueError:
                return False, f"expected a number, got {text[:80]!r}"
        else:
            actual = text
        if self.condition == "in":
            ok = str(self.value) in text
        elif self.condition == "eq":
            ok = actual == self.value
        else:
            try:
                ok = {"gt": actual > self.value, "gt_eq": actual >= self.value,
                      "lt": actual < self.value, "lt_eq": actual <= self.value}[self.condition]
            except TypeError:
                return False, f"cannot compare {text[:80]!r} with {self.value!r}"
        shown = text if len(text) <= 80 else text[:77] + "..."
        return ok, f"{self.condition} {self.value!r}: {'holds' if ok else 'fails'} for " \
                   f"{shown!r}"


class OperationSpec(PluginSpec):
    #: when in each iteration it runs
    at: OperationPoint = "after-inject"
    timeout: float = Field(120.0, gt=0, le=3600)
    #: a check: the run fails unless the output meets it
    expect: Expect | None = None
    #: variables to set from the output: name -> "all" (the whole output, stripped) or the
    #: key of a row in the CLI's table ("| key | value |")
    sets: dict[str, str] = {}
    #: False: its failure is recorded but does not fail the run
    gate: bool = True

    @model_validator(mode="after")
    def _names(self):
        import re
        for name in self.sets:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"variable name {name!r}: letters, digits and _ only, "
                                 "used later as @name")
        return self


class SteadyState(StrictModel):
    """Monitors (by name) that must be healthy before injection and after recovery."""

    before: list[str] | None = None
    after: list[str] | None = None
    samples: int = Field(3, ge=1, le=100)


HeadlineKind = Literal["published-status", "disagreement", "token-survival", "volume-service",
                       "takeover", "worst-outage"]


class HeadlineSpec(StrictModel):
    """Which answer the gap-area table shows for this scenario (ha_tests.headline)."""

    #: default: the gap area's own (gap-1 published-status, gap-2 disagreement, ...)
    kind: HeadlineKind | None = None
    #: the monitor that carries the answer (default: the first of the kind's type)
    monitor: str | None = None
    #: published-status: the service-notifications monitor beside it
    notifications: str | None = None
    #: shown before the figure, e.g. "A/A" or "A/P" (gap-4: the two rows side by side)
    label: str | None = Field(None, max_length=20)
    #: takeover: True once the volume has a data path and writes are checked
    data_side: bool = False


class ScenarioModel(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    description: str = ""
    gap: GapArea
    tags: list[str] = []
    requires: list[str] = Field([], description="inventory services the scenario needs")
    #: a claim, never trusted: ha_tests.destructive decides from what the scenario uses
    destructive: bool = True
    targets: dict[str, TargetSpec] = {}
    attackers: list[AttackerSpec] = []
    monitors: list[MonitorSpec] = Field(min_length=1)
    operations: list[OperationSpec] = []
    steady_state: SteadyState = SteadyState()
    sla: Sla | None = None
    timing: Timing = Timing()
    headline: HeadlineSpec = HeadlineSpec()
    repeat: int = Field(1, ge=1, le=1000)


@dataclass(frozen=True)
class PluginUse:
    """An attacker or monitor entry resolved to its plugin class and typed parameters."""

    name: str
    type: str
    cls: type
    params: StrictModel
    target: str | None
    spec: PluginSpec


@dataclass(frozen=True)
class Scenario:
    model: ScenarioModel
    attackers: list[PluginUse]
    monitors: list[PluginUse]
    file: str
    #: in the order they run (by ``at``, then as written)
    operations: list[PluginUse] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def gap(self) -> str:
        return self.model.gap

    def sla_for(self, monitor: PluginUse) -> dict[str, float]:
        """The scenario's limits overlaid by the monitor's own.

        A tier's detection limit is the cloud's own detection of the fault (OPNFV SAL), which
        only monitors that report the cloud's view (``detects = True``: service-status,
        host-status) observe; on an availability monitor a late outage onset is good news,
        not a missed detection. An explicit ``max_detection`` applies as written.
        """
        limits = self.model.sla.limits() if self.model.sla else {}
        if self.model.sla and self.model.sla.tier and self.model.sla.max_detection is None \
                and not getattr(monitor.cls, "detects", False):
            limits.pop("max_detection", None)
        own = monitor.spec.sla  # type: ignore[attr-defined]
        if own is not None:
            limits.update(own.limits())
        return limits


def _resolve_plugins(section: str, specs: list[PluginSpec], group: str,
                     common: type[StrictModel], model: ScenarioModel,
                     source: SourceMap) -> tuple[list[PluginUse], list[Problem]]:
    uses: list[PluginUse] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        path = (section, index)
        try:
            cls = plugins.load(group, spec.type)
        except plugins.UnknownPlugin as exc:
            hint = did_you_mean(spec.type, exc.known) or "known: " + ", ".join(exc.known)
            problems.append(source.problem(path + ("type",), str(exc), hint))
            continue
        except (ImportError, AttributeError) as exc:
            problems.append(source.problem(path + ("type",),
                                           f"plugin '{spec.type}' is registered but cannot be "
                                           f"loaded: {exc}", "reinstall the package providing it"))
            continue
        params_model = cls.Params
        raw = spec.plugin_params()
        try:
            params = params_model.model_validate(raw)
        except Exception as exc:  # pydantic.ValidationError
            import pydantic
            if not isinstance(exc, pydantic.ValidationError):
                raise
            found = problems_from(exc, params_model, source, path)
            known = allowed_keys(params_model) + allowed_keys(common)
            for problem in found:
                if problem.message.startswith("unknown key"):
                    key = problem.path.rsplit(".", 1)[-1]
                    hint = did_you_mean(key, known) or (
                        f"{spec.type} takes: " + ", ".join(sorted(allowed_keys(params_model)))
                        if allowed_keys(params_model) else f"{spec.type} takes no parameters")
                    problem = Problem(problem.file, problem.line, problem.column, problem.path,
                                      problem.message, hint)
                problems.append(problem)
            continue
        name = spec.name or (f"{spec.type}" if spec.type not in seen else f"{spec.type}-{index}")
        if name in seen:
            problems.append(source.problem(path + ("name",), f"name '{name}' is used twice",
                                           "give each entry its own 'name'"))
        seen.add(name)
        if spec.target is not None and spec.target not in model.targets:
            hint = did_you_mean(spec.target, model.targets) or (
                "declare it under 'targets:'" if not model.targets
                else "targets: " + ", ".join(model.targets))
            problems.append(source.problem(path + ("target",),
                                           f"unknown target '{spec.target}'", hint))
        if getattr(cls, "needs_target", False) and spec.target is None:
            problems.append(source.problem(path, f"{spec.type} needs a 'target'",
                                           "add 'target: <name under targets:>'"))
        uses.append(PluginUse(name, spec.type, cls, params, spec.target, spec))
    return uses, problems


def parse_scenario(data: Any, source: SourceMap) -> Scenario:
    if not isinstance(data, dict):
        raise InputError(Problem(source.file, 1, 1, "", "a scenario is a mapping",
                                 "start with 'name:', 'gap:' and 'monitors:'"))
    model = validate(ScenarioModel, data, source)
    attackers, problems = _resolve_plugins("attackers", model.attackers, plugins.ATTACKERS,
                                           AttackerSpec, model, source)
    monitors, more = _resolve_plugins("monitors", model.monitors, plugins.MONITORS,
                                      MonitorSpec, model, source)
    problems += more
    operations, more = _resolve_plugins("operations", model.operations, plugins.OPERATIONS,
                                        OperationSpec, model, source)
    problems += more
    operations, more = _order_operations(operations, model, source)
    problems += more
    monitor_names = {m.name for m in monitors}
    for phase in ("before", "after"):
        names = getattr(model.steady_state, phase) or []
        for i, name in enumerate(names):
            if name not in monitor_names and monitors:
                problems.append(source.problem(
                    ("steady_state", phase, i), f"no monitor named '{name}'",
                    did_you_mean(name, monitor_names) or "monitors: " + ", ".join(monitor_names)))
    for key in ("monitor", "notifications"):
        name = getattr(model.headline, key)
        if name is not None and name not in monitor_names and monitors:
            problems.append(source.problem(
                ("headline", key), f"no monitor named '{name}'",
                did_you_mean(name, monitor_names) or "monitors: " + ", ".join(monitor_names)))
    if problems:
        raise InputError(problems)
    return Scenario(model, attackers, monitors, source.file, operations)


def _order_operations(uses: list[PluginUse], model: ScenarioModel,
                      source: SourceMap) -> tuple[list[PluginUse], list[Problem]]:
    """Operations in run order; each @variable must be set by one that runs before it."""
    position = {id(spec): i for i, spec in enumerate(model.operations)}
    ordered = sorted(uses, key=lambda u: (OPERATION_POINTS.index(u.spec.at),  # type: ignore
                                          position[id(u.spec)]))
    problems: list[Problem] = []
    known: set[str] = set()
    for use in ordered:
        index = position[id(use.spec)]
        own = set(use.spec.sets)  # type: ignore[attr-defined]
        used = {(n, False) for n in variables_used(use.params)} | \
            {(n, True) for n in variables_used(use.params, undo=True)}
        for name, in_undo in sorted(used):
            if name not in known and not (in_undo and name in own):
                setters = [u.name for u in uses if name in u.spec.sets]  # type: ignore
                hint = (f"'{setters[0]}' sets it but runs later: give it an earlier 'at:'"
                        if setters else f"add 'sets: {{{name}: all}}' to an operation that "
                        "runs before this one")
                problems.append(source.problem(("operations", index), f"@{name} is used "
                                               "before any operation sets it", hint))
        known.update(use.spec.sets)  # type: ignore[attr-defined]
    return ordered, problems


def load_scenario(path: str | Path) -> Scenario:
    data, source = load_file(path)
    return parse_scenario(data, source)
