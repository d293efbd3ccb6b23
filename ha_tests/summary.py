"""summary.json declared once: the typed, versioned result of one scenario run.

ha_tests.analysis builds it from the history and writes it; every reader loads it through
``RunSummary`` instead of looking up string keys, so a field is renamed in one place and a
result from another version is refused with the fix. docs/contracts.rst lists the fields.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ha_tests.errors import InputError, Problem

#: bump when a field changes meaning or goes; a new optional field keeps the version
SCHEMA_VERSION = 1


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"
    PREFLIGHT_FAILED = "preflight-failed"
    ROLLBACK_FAILED = "rollback-failed"
    ERROR = "error"
    INTERRUPTED = "interrupted"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Interval(_Model):
    """A measured figure with bounds that hold (ha_tests.bounded); None: unbounded."""

    value: float | None
    lo: float | None
    hi: float | None
    error: float | None = None

    def text(self) -> str:
        return f"{self.value:.2f} s ± {self.error or 0:.2f}"


class Outage(_Model):
    begin: Interval
    end: Interval | None
    open: bool
    duration: Interval | None
    min_duration: float
    failed_samples: int
    statuses: dict[str, int]


class Latency(_Model):
    count: int
    p50: float
    p95: float
    p99: float


class Metrics(_Model):
    """One monitor, one iteration, over the fault window [t0, window end]."""

    outage_count: int = 0
    outages: list[Outage] = []
    total_downtime: Interval | None = None
    longest_outage: Interval | None = None
    detection_time: Interval | None = None
    recovery_time: Interval | None = None
    recovered: bool = True
    recovery_after_rollback: Interval | None = None
    availability: Interval | None = None
    error_count: int = 0
    sample_count: int = 0
    baseline_latency: Latency | None = None
    fault_latency: Latency | None = None
    missed_samples: int | None = None
    yardstick_outage: float = 0.0
    window: float = 0.0
    #: median latency during the fault against the baseline's (relative, with its interval)
    degradation: Interval | None = None


class Verdict(_Model):
    limit: str
    threshold: float
    passed: bool = Field(alias="pass")
    measured: Any = None
    message: str


class MonitorIteration(_Model):
    iteration: int
    metrics: Metrics
    verdicts: list[Verdict] = []
    missed_ticks: int = 0
    failures: dict[str, int] = {}


class MonitorResult(_Model):
    type: str
    gate: bool
    sla: dict[str, float] = {}
    iterations: list[MonitorIteration] = []


class AttackerInfo(_Model):
    name: str
    type: str
    nodes: list[str] = []


class RollbackEntry(_Model):
    """One rollback (``final``: the closing heal) of one attacker; the last one decides."""

    attacker: str
    final: bool
    ok: bool
    error: str | None = None
    detail: Any = None


class OperationRecord(_Model):
    """An operation as it ran; its plugin's own fields (rc, command, ...) ride along."""

    model_config = ConfigDict(frozen=True, extra="allow")
    operation: str
    type: str
    at: str
    iteration: int
    gate: bool
    ok: bool
    took: float = 0.0
    output: str = ""
    error: str | None = None
    undo: dict[str, Any] | None = None


class HeadlineItem(_Model):
    """The gap area's answer for one iteration (``"all"``: the mean over a repeated run's
    iterations), as ha_tests.headline computes it from the history."""

    iteration: int | Literal["all"]
    kind: str
    figure: str
    verdict: str
    values: dict[str, Any] = {}
    label: str | None = None


class RunSummary(_Model):
    """summary.json: what one scenario run found, rebuilt from its events.jsonl alone."""

    schema_version: int = SCHEMA_VERSION
    scenario: str
    description: str | None = None
    gap: str
    tags: list[str] = []
    file: str | None = None
    status: Status
    error: str | None = None
    skip_reason: str | None = None
    sla_failures: list[str] = []
    inventory: str | None = None
    targets: dict[str, list[str]] = {}
    seed: int | None = None
    attackers: list[AttackerInfo] = []
    rollback: list[RollbackEntry] = []
    monitors: dict[str, MonitorResult] = {}
    operations: list[OperationRecord] = []
    timing: dict[str, Any] = {}
    versions: dict[str, str | None] = {}
    finished: str | None = None
    #: what the run found about its gap area (ha_tests.headline), one item per iteration
    headline: list[HeadlineItem] = []

    @field_validator("schema_version")
    @classmethod
    def _this_version(cls, version: int) -> int:
        """Any way in (a file, a door's dict) refuses a summary of another version: its
        fields may mean something else, so reading them by these names would be a guess."""
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema version {version}, this ha-tests reads "
                             f"{SCHEMA_VERSION}; rebuild it from its history with "
                             "'ha-tests analyze DIR'")
        return version

    @classmethod
    def skipped(cls, scenario: str, gap: str, why: str) -> RunSummary:
        """A scenario that never ran (a time budget, a policy): only its name and why."""
        return cls(scenario=scenario, gap=gap, status=Status.SKIPPED, skip_reason=why)

    @classmethod
    def of(cls, summary: RunSummary | dict[str, Any]) -> RunSummary:
        """The model of ``summary`` (a door may still hand over the JSON's dict)."""
        return summary if isinstance(summary, RunSummary) else cls.model_validate(summary)

    def gated(self) -> Iterator[tuple[str, MonitorResult, MonitorIteration]]:
        """(name, monitor, iteration) of every monitor that gates the verdict."""
        for name, monitor in self.monitors.items():
            if monitor.gate:
                for iteration in monitor.iterations:
                    yield name, monitor, iteration

    def worst(self, key: str) -> Interval | None:
        """The gated monitors' worst ``key`` (highest upper bound), e.g. recovery_time."""
        found = [v for _, _, i in self.gated() if (v := getattr(i.metrics, key)) is not None
                 and v.hi is not None]
        return max(found, key=lambda v: v.hi or 0.0, default=None)

    def to_json(self) -> dict[str, Any]:
        """The JSON object summary.json holds (field names as in the file)."""
        return self.model_dump(mode="json", by_alias=True)


def load_run_summary(result_dir: Path) -> RunSummary:
    """The summary of a results directory (or the summary.json named), typed; anything this
    version cannot read is an InputError naming the file and the fix."""
    path = Path(result_dir)
    if path.name != "summary.json" or path.is_dir():
        path = path / "summary.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(Problem(str(path), None, None, "", "no summary.json here",
                                 "pass a directory written by 'ha-tests run' (or rebuild "
                                 "it with 'ha-tests analyze')")) from None
    except json.JSONDecodeError as exc:
        raise InputError(Problem(str(path), exc.lineno, exc.colno, "", "summary.json is not "
                                 "valid JSON (an interrupted write?)",
                                 f"rebuild it: ha-tests analyze {path.parent}")) from None
    version = data.get("schema_version", SCHEMA_VERSION) if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise InputError(Problem(str(path), None, None, "", f"summary.json has schema "
                                 f"version {version}, this ha-tests reads {SCHEMA_VERSION}",
                                 f"rebuild it from its history: ha-tests analyze "
                                 f"{path.parent}"))
    try:
        return RunSummary.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise InputError(Problem(str(path), None, None, "", f"summary.json: {where}: "
                                 f"{first['msg']}", f"rebuild it from its history: "
                                 f"ha-tests analyze {path.parent}")) from None
