"""Named profiles: a list of shipped scenarios and a total time budget (e.g. post-deploy)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ha_tests.errors import InputError, Problem
from ha_tests.scenario_files import expand_scenarios, shipped_scenarios_dir
from ha_tests.validation import StrictModel, validate
from ha_tests.yamlsource import did_you_mean, load_file


class Profile(StrictModel):
    name: str
    description: str = ""
    max_total_time: float = Field(1800, gt=0, description="seconds for the whole profile")
    scenarios: list[str] = Field(min_length=1)
    min_measured: float | None = Field(
        None, ge=0, le=1, description="the least share of the scenarios that must be "
        "measured (not skipped) for the gate to pass, e.g. 0.5; default: at least one")


def profiles_dir() -> Path:
    return shipped_scenarios_dir() / "profiles"


def load_profile(name: str) -> Profile:
    path = profiles_dir() / f"{name}.yaml"
    if not path.exists():
        known = [p.stem for p in profiles_dir().glob("*.yaml")]
        raise InputError(Problem(str(path), None, None, "", f"no profile named '{name}'",
                                 did_you_mean(name, known) or "profiles: " + ", ".join(known)))
    data, source = load_file(path)
    return validate(Profile, data, source)


def profile_paths(name: str) -> list[Path]:
    return expand_scenarios(load_profile(name).scenarios)
