"""Attackers and monitors are found through entry points, so users add their own without forking.

Entry-point groups: ``ha_tests.attackers``, ``ha_tests.monitors`` and
``ha_tests.operations`` (the entry-point name is the ``type`` written in scenario files),
``ha_tests.inventory_formats`` (the name ``--inventory-format`` takes) and
``ha_tests.reporters`` (what each run writes beside its results directories).
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

ATTACKERS = "ha_tests.attackers"
MONITORS = "ha_tests.monitors"
OPERATIONS = "ha_tests.operations"
INVENTORY_FORMATS = "ha_tests.inventory_formats"
REPORTERS = "ha_tests.reporters"


class UnknownPlugin(LookupError):
    def __init__(self, group: str, name: str, known: list[str]):
        self.group, self.name, self.known = group, name, known
        super().__init__(f"unknown {group.rsplit('.', 1)[-1][:-1].replace('_', ' ')} type "
                         f"'{name}'")


@functools.cache
def _registry(group: str) -> dict:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    return sorted(_registry(group))


def load(group: str, name: str):
    """The plugin class registered under name; UnknownPlugin lists what is known."""
    registry = _registry(group)
    if name not in registry:
        raise UnknownPlugin(group, name, sorted(registry))
    return registry[name].load()


def attacker_class(name: str):
    return load(ATTACKERS, name)


def monitor_class(name: str):
    return load(MONITORS, name)
