"""What every monitor is: one probe a sample, each bounded by its own timeout.

The runner owns the schedule and the clock; a monitor only answers "is it up right now?".
Keeping timing out of plugins is what makes every plugin's samples comparable.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ha_tests.plugin_base import TimedPlugin


@dataclass
class ProbeResult:
    ok: bool
    #: seconds the operation itself took, when the probe can tell (else the runner's timing)
    latency: float | None = None
    #: small JSON-able facts for the record (HTTP status, PIDs seen, error text); on a
    #: failure, ``reason`` (optional) names its kind so the summary can count alike ones
    #: (else the ``error`` text, with numbers and IDs made generic, is the reason)
    detail: dict[str, Any] = field(default_factory=dict)


class Monitor(TimedPlugin, abc.ABC):
    #: True when a failed sample means "the cloud reports the fault" (its own detection),
    #: so an SLA tier's detection limit applies to it
    detects: ClassVar[bool] = False

    def setup(self) -> None:
        """Prepare before the baseline (open connections, issue tokens)."""

    @abc.abstractmethod
    def probe(self) -> ProbeResult:
        """Take one sample; must return (or raise) within ``self.timeout`` where it can.

        The sampling loop records a probe still running at ``self.timeout`` as a timeout, so
        bound the probe's own I/O a little below it (e.g. 0.9 x) to report its real outcome.
        """

    def teardown(self) -> None:
        """Release what setup took."""
