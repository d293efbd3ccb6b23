"""What a run writes beside its results directories, whichever door ran it: reporters.

Each reporter is a class registered under the entry-point group ``ha_tests.reporters`` and
is handed the same :class:`RunOutputs` after every Session run (``ha-tests run``,
``validate-deployment``, ``yardstick run``, the pytest and Tempest plugins). The gap-area
CSV, the HTML report, JUnit and ``yardstick.out`` ship with ha-tests
(``ha_tests/reporters/shipped.py``); a user adds one with one file and one entry point. A
reporter reads the summaries only: it never reaches back into the runner.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ha_tests import plugins

if TYPE_CHECKING:
    from ha_tests.coverage import Coverage
    from ha_tests.session import Policy
    from ha_tests.summary import RunSummary


@dataclass
class RunOutputs:
    """One run as every reporter sees it."""

    #: the results root (each scenario's directory is inside it)
    results: Path
    #: the file-name stem of this run's files: a UTC time stamp, then the door's label
    stem: str
    policy: Policy
    #: each scenario's summary (masked, typed), skipped ones included
    summaries: list[RunSummary] = field(default_factory=list)
    #: the results directory of each scenario that ran
    result_dirs: list[Path] = field(default_factory=list)
    #: Yardstick CaseResults, for Yardstick test cases
    cases: list[Any] = field(default_factory=list)
    #: the post-deploy gate's own row (gap-6, ha_tests.headline.gate_summary), when the
    #: policy names a gate: the gap-area table ends with it, JUnit carries its properties
    gate_row: dict[str, Any] | None = None
    #: where notes for a person go (the CLI: stderr; the test plugins: nowhere)
    say: Callable[[str], None] = lambda _text: None
    #: how much of the run was measured: the run's one Coverage (SessionResult.coverage)
    gate: Coverage | None = None


class Reporter(abc.ABC):
    """Writes one kind of output for a whole run."""

    #: reporters run in this order (lowest first), then by entry-point name
    order: ClassVar[int] = 100

    @abc.abstractmethod
    def write(self, run: RunOutputs) -> dict[str, Path]:
        """Write what this reporter makes of the run (nothing, when it has nothing to say);
        return each file written, by kind (``{"csv": path}``)."""


def names() -> list[str]:
    return plugins.names(plugins.REPORTERS)


def reporters() -> list[tuple[str, Reporter]]:
    found = [(name, plugins.load(plugins.REPORTERS, name)()) for name in names()]
    return sorted(found, key=lambda item: (item[1].order, item[0]))


def write_all(run: RunOutputs) -> dict[str, Path]:
    """Every registered reporter's outputs for the run, by kind."""
    outputs: dict[str, Path] = {}
    for _name, reporter in reporters():
        outputs.update(reporter.write(run))
    return outputs
