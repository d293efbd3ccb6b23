"""How much of a run was measured, and whether a gate may pass on that.

A scenario that was skipped, refused or stopped before its monitors sampled a fault measured
nothing; a run of six such scenarios has proved nothing about HA, so it must not exit 0 as
if it had passed (``ExitCode.NOT_MEASURED``). A profile says the least share it needs
(``min_measured:``); without one a run needs at least one measured scenario.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

#: the statuses of a scenario whose monitors measured a fault (its SLA passed or failed)
MEASURED = ("pass", "fail")


@dataclass(frozen=True)
class Coverage:
    total: int
    measured: int
    #: the least share of ``total`` that must be measured; None: at least one scenario
    least: float | None = None
    #: scenario -> why it was not measured ("skipped: the inventory lacks ...")
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> int:
        """How many scenarios must be measured for the gate to pass."""
        if self.total == 0:
            return 0
        if self.least is None:
            return 1
        return math.ceil(self.least * self.total - 1e-9)

    @property
    def enough(self) -> bool:
        return self.measured >= self.required

    @property
    def headline(self) -> str:
        """``0 of 6 measured (the gate needs at least 1)``."""
        if self.least is None:
            need = "at least 1"
        else:
            need = f"at least {self.required} ({self.least:.0%} of {self.total})"
        return f"{self.measured} of {self.total} measured (the gate needs {need})"

    def lines(self) -> list[str]:
        """The headline, then each scenario that was not measured with why."""
        return [self.headline, *(f"  not measured: {name}: {why}"
                                 for name, why in self.reasons.items())]

    def text(self) -> str:
        return "\n".join(self.lines())

    def verdict(self) -> str:
        """What a person reads when the gate fails on it, with how to change that."""
        return (f"{self.headline}: nothing proves this cloud's HA unless it was measured; "
                "give the inventory what the skipped scenarios need (ha-tests discover, "
                "docs/discovery.rst), or pass --allow-skips to accept fewer")


def coverage(outcomes: Iterable[tuple[str, str, str | None]],
             least: float | None = None) -> Coverage:
    """``outcomes``: (scenario name, status, why) for each scenario of the run."""
    total, measured, reasons = 0, 0, {}
    for name, status, why in outcomes:
        total += 1
        if status in MEASURED:
            measured += 1
        else:
            reasons[name] = f"{status}: {why}" if why else status
    return Coverage(total, measured, least, reasons)
