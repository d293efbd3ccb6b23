"""Whether a scenario is destructive, decided from what it uses, never from what it says.

A scenario's own ``destructive: false`` is a claim, not a proof: the same file may power off
every controller. What can break a cloud is visible in the scenario: an attacker, an
operation (it runs a command on a node or against the cloud, and may leave something behind
for an undo) or a monitor that runs a command it was given (``command``, ``openstack-cmd``).
Every front door asks this module, so every door makes the same decision.
"""

from __future__ import annotations

from ha_tests.scenario import PluginUse, Scenario


def _has_undo(use: PluginUse) -> bool:
    from ha_tests.operations.base import CommandAndUndo, Operation

    if getattr(use.params, "undo", None) is not None:
        return True
    return use.cls.undo is not Operation.undo and not issubclass(use.cls, CommandAndUndo)


def _runs_commands(use: PluginUse) -> bool:
    from ha_tests.monitors.command import CommandMonitor
    from ha_tests.monitors.openstack_cmd import OpenstackCmdMonitor

    return issubclass(use.cls, CommandMonitor | OpenstackCmdMonitor)


def destructive_reasons(scenario: Scenario) -> list[str]:
    """What in the scenario can change the cloud or its nodes; empty when nothing can."""
    reasons = [f"attacker '{use.name}' ({use.type})" for use in scenario.attackers]
    for use in scenario.operations:
        where = f" on target '{use.target}'" if use.target else " against the cloud"
        undo = ", with an undo" if _has_undo(use) else ""
        reasons.append(f"operation '{use.name}' ({use.type}{where}{undo})")
    reasons += [f"monitor '{use.name}' runs commands ({use.type}"
                + (f" on target '{use.target}')" if use.target else ")")
                for use in scenario.monitors if _runs_commands(use)]
    return reasons
