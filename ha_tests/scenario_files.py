"""Where scenario files come from: paths, directories, or the names of shipped scenarios.

Every front door and the profiles name scenarios the same way, so this lives below them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from ha_tests.errors import InputError, Problem
from ha_tests.yamlsource import did_you_mean


def shipped_scenarios_dir() -> Path:
    env = os.environ.get("HA_TESTS_SCENARIOS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "scenarios"


def expand_scenarios(items: list[str]) -> list[Path]:
    """Files, directories of *.yaml, or names of shipped scenarios; a directory without
    any is an error (a run of nothing must not pass)."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                others = sorted(p.name for p in path.glob("*.yml"))
                raise InputError(Problem(str(path), None, None, "", "no scenario in this "
                                         "directory: it has no *.yaml file",
                                         f"rename {others[0]} to .yaml" if others else
                                         "give the directory that holds the scenarios, "
                                         "or the files themselves"))
            paths += found
        elif path.exists():
            paths.append(path)
        else:
            shipped = shipped_scenarios_dir() / f"{item.removesuffix('.yaml')}.yaml"
            if shipped.exists():
                paths.append(shipped)
            else:
                names = [p.stem for p in shipped_scenarios_dir().glob("*.yaml")]
                raise InputError(Problem(item, None, None, "", "no such scenario file or "
                                         "shipped scenario",
                                         did_you_mean(item, names) or "see 'ha-tests list'"))
    return paths
