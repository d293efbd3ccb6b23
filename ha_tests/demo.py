"""The main job's plan: which lab the machine can hold, which scenarios, and how long.

``ha-tests demo`` should end with a figure for every gap area; gap-1, -2, -4 and -5 need
Nova and Cinder, which only the full lab has. This decides the profile from the memory the
machine has (and the packages installed), says plainly what is left out when it falls back,
and picks one scenario per gap area for ``--quick``. How long the run takes is
ha_tests.estimate's (the Session says it before each scenario).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ha_tests.scenario import Scenario

#: what the full lab takes when up (docs/lab.rst), plus room for the runner and the system
FULL_LAB_GIB = 4.5
FULL_LAB_NEEDS_GIB = 6.0


@dataclass(frozen=True)
class LabChoice:
    profile: str
    why: str


def available_gib(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def full_lab_packages() -> str | None:
    """None when Nova, Placement and Cinder import; else what is missing."""
    import importlib.util

    missing = [name for name in ("nova", "placement", "cinder")
               if importlib.util.find_spec(name) is None]
    return ", ".join(missing) or None


def choose_lab(available: float | None, missing_packages: str | None) -> LabChoice:
    """The full lab when the machine can hold it, else the identity lab and why."""
    left_out = ("gap-1, gap-2, gap-4 and gap-5 are left out (they need Nova and Cinder, "
                "which only the full lab has)")
    if missing_packages:
        return LabChoice("identity", f"identity lab: the full lab needs the Python packages "
                         f"{missing_packages} (pip install -e '.[lab]'); {left_out}")
    if available is None:
        return LabChoice("identity", "identity lab: cannot read the available memory "
                         f"(/proc/meminfo); the full lab needs {FULL_LAB_NEEDS_GIB:g} GiB; "
                         f"{left_out}")
    if available < FULL_LAB_NEEDS_GIB:
        return LabChoice("identity", f"identity lab: {available:.1f} GiB of memory "
                         f"available, the full lab needs {FULL_LAB_NEEDS_GIB:g} GiB "
                         f"({FULL_LAB_GIB:g} GiB for itself); {left_out}")
    return LabChoice("full", f"full lab: {available:.1f} GiB available, it needs "
                     f"{FULL_LAB_NEEDS_GIB:g} GiB; every gap area runs")


def quick_selection(scenarios: list[Scenario]) -> list[Scenario]:
    """One scenario per gap area (the first of each, as listed) and one classic case."""
    chosen: dict[str, Scenario] = {}
    for scenario in scenarios:
        chosen.setdefault(scenario.gap, scenario)
    return list(chosen.values())
