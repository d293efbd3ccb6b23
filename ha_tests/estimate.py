"""How long a plan will take, said before it starts and as it runs.

A long run (the demo's 23 scenarios, a post-deploy gate) should tell its user what is left:
"scenario 7 of 23, about 9 min left". The estimate comes from each scenario's own timing (the
time it takes when the cloud recovers as it should), so it needs no history.
"""

from __future__ import annotations

from ha_tests.scenario import Scenario

#: per scenario beyond its timing: preflight, targets, steady state, heal, results
OVERHEAD_S = 15.0


def expected_seconds(scenario: Scenario) -> float:
    """What one scenario takes when the cloud recovers as it should: baseline, then the
    longer of the hold and the observation window, per iteration."""
    timing = scenario.model.timing
    one = timing.baseline + max(timing.observe, timing.fault_duration + 5.0)
    return OVERHEAD_S + one * scenario.model.repeat


def minutes(seconds: float) -> str:
    return f"{max(1, round(seconds / 60))} min"


class Countdown:
    """'scenario 7 of 23, about 9 min left': the estimate of what is left, as it runs."""

    def __init__(self, scenarios: list[Scenario], skipped: frozenset[str] = frozenset()):
        """``skipped``: names the lab cannot serve; the runner skips them at once."""
        self.left = {s.name: 0.0 if s.name in skipped else expected_seconds(s)
                     for s in scenarios}
        self.total = len(scenarios)
        self.done = 0

    @property
    def estimate(self) -> float:
        return sum(self.left.values())

    def next(self, scenario: Scenario) -> str:
        self.done += 1
        text = f"scenario {self.done} of {self.total}, about {minutes(self.estimate)} left"
        self.left.pop(scenario.name, None)
        return text
