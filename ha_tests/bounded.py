"""A measured quantity reported as the interval the samples allow, never as a bare number.

Every time ha-tests reports is derived from probes whose outcome holds at an unknown instant
inside the probe; the honest answer is an interval [lo, hi] that surely contains the truth.
``value`` (the midpoint) and ``error`` (the half-width) are only a way of printing it.

Infinite bounds are allowed (an outage already under way when sampling began has no lower
bound on its start); ``to_dict`` renders them as ``None`` so the result stays strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bounded:
    lo: float
    hi: float
    unit: str = field(default="s", compare=False)  # "s" for times, "" for ratios

    def __post_init__(self) -> None:
        if math.isnan(self.lo) or math.isnan(self.hi):
            raise ValueError(f"bounds must not be NaN: [{self.lo}, {self.hi}]")
        if self.lo > self.hi:
            raise ValueError(f"lower bound {self.lo} exceeds upper bound {self.hi}")

    @classmethod
    def exact(cls, x: float, unit: str = "s") -> Bounded:
        return cls(x, x, unit)

    # -- reading ------------------------------------------------------------------------------
    @property
    def is_finite(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    @property
    def value(self) -> float:
        """Midpoint; with one infinite bound, the finite one (all that is known); else NaN."""
        if self.is_finite:
            return (self.lo + self.hi) / 2
        if math.isfinite(self.lo):
            return self.lo
        if math.isfinite(self.hi):
            return self.hi
        return math.nan

    @property
    def error(self) -> float:
        """Half-width: the largest distance from ``value`` to the truth."""
        return (self.hi - self.lo) / 2

    @property
    def width(self) -> float:
        return self.hi - self.lo

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    # -- arithmetic ---------------------------------------------------------------------------
    def shift(self, dt: float) -> Bounded:
        return Bounded(self.lo + dt, self.hi + dt, self.unit)

    def __add__(self, other: Bounded | float) -> Bounded:
        other = as_bounded(other, self.unit)
        return Bounded(self.lo + other.lo, self.hi + other.hi, self.unit)

    def __radd__(self, other: float) -> Bounded:  # lets sum() start from 0
        return self + other

    def minus(self, other: Bounded | float) -> Bounded:
        """Every value ``x - y`` can take with x in self, y in other."""
        other = as_bounded(other, self.unit)
        return Bounded(_sub(self.lo, other.hi, -math.inf), _sub(self.hi, other.lo, math.inf),
                       self.unit)

    def clamp(self, lo: float = -math.inf, hi: float = math.inf) -> Bounded:
        """The same knowledge once the truth is known to lie in [lo, hi] too."""
        return Bounded(min(max(self.lo, lo), hi), max(min(self.hi, hi), lo), self.unit)

    # -- output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, float | None]:
        return {"value": _finite(self.value), "lo": _finite(self.lo), "hi": _finite(self.hi),
                "error": _finite(self.error)}

    def __str__(self) -> str:
        if self.unit != "s":
            suffix = f" {self.unit}" if self.unit else ""
            if not self.is_finite:
                return _half_open(self, lambda x: f"{x:.4f}{suffix}")
            return f"{self.value:.4f}{suffix} ± {self.error:.4f}{suffix}"
        if not self.is_finite:
            return _half_open(self, _seconds)
        if max(abs(self.value), self.error) < 1:
            return f"{self.value * 1000:.0f} ms ± {self.error * 1000:.0f} ms"
        return f"{self.value:.2f} s ± {self.error:.2f} s"


def as_bounded(x: Bounded | float, unit: str = "s") -> Bounded:
    return x if isinstance(x, Bounded) else Bounded.exact(float(x), unit)


def duration_between(start: Bounded | float, end: Bounded | float) -> Bounded:
    """Time from instant ``start`` to instant ``end`` when end is known not to precede start."""
    return as_bounded(end).minus(start).clamp(lo=0.0)


def bounded_max(items: Iterable[Bounded]) -> Bounded | None:
    """Bounds on the largest of several quantities: max of the lows, max of the highs."""
    items = list(items)
    if not items:
        return None
    return Bounded(max(b.lo for b in items), max(b.hi for b in items), items[0].unit)


def _sub(a: float, b: float, unknown: float) -> float:
    """a - b; inf - inf carries no information, so it becomes the widest bound ``unknown``."""
    if math.isinf(a) and math.isinf(b) and (a > 0) == (b > 0):
        return unknown
    return a - b


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _seconds(x: float) -> str:
    return f"{x * 1000:.0f} ms" if abs(x) < 1 else f"{x:.2f} s"


def _half_open(b: Bounded, fmt) -> str:
    if math.isfinite(b.lo):
        return f"≥ {fmt(b.lo)}"
    if math.isfinite(b.hi):
        return f"≤ {fmt(b.hi)}"
    return "unbounded"
