"""Attackers, monitors and operations share one plugin base: one Params, needs_target, init."""

from __future__ import annotations

import pytest

from ha_tests import plugins
from ha_tests.attackers.base import Attacker
from ha_tests.monitors.base import Monitor
from ha_tests.operations.base import Operation
from ha_tests.plugin_base import NoParams, Plugin, TimedPlugin
from ha_tests.validation import StrictModel

KINDS = {plugins.ATTACKERS: Attacker, plugins.MONITORS: Monitor,
         plugins.OPERATIONS: Operation}


@pytest.mark.parametrize("group", sorted(KINDS))
def test_every_registered_plugin_is_built_from_the_one_base(group):
    for name in plugins.names(group):
        cls = plugins.load(group, name)
        assert issubclass(cls, KINDS[group]) and issubclass(cls, Plugin), name
        assert issubclass(cls.Params, StrictModel), name


def test_the_kinds_declare_no_shape_of_their_own():
    for kind in KINDS.values():
        assert "Params" not in vars(kind), f"{kind.__name__} redefines Params"
    for kind in (Monitor, Operation):
        assert "__init__" not in vars(kind), f"{kind.__name__} redefines __init__"
    assert issubclass(Monitor, TimedPlugin) and issubclass(Operation, TimedPlugin)
    assert Attacker.needs_target and not Monitor.needs_target and not Operation.needs_target


def test_a_plugin_of_each_kind_is_built_the_same_way():
    class Probe(Monitor):
        def probe(self):
            raise AssertionError("not sampled here")

    class Step(Operation):
        def run(self, variables):
            raise AssertionError("not run here")

    class Fault(Attacker):
        def inject(self):
            return {}

        def rollback(self):
            return {}

    ctx = object()
    for plugin in (Probe("p", NoParams(), [], ctx, timeout=2.5),  # type: ignore[arg-type]
                   Step("s", NoParams(), [], ctx, timeout=2.5)):  # type: ignore[arg-type]
        assert (plugin.name[0], plugin.params, plugin.nodes, plugin.ctx, plugin.timeout) == \
            (plugin.name[0], NoParams(), [], ctx, 2.5)
    fault = Fault("f", NoParams(), [], ctx)  # type: ignore[arg-type]
    assert (fault.name, fault.ctx) == ("f", ctx) and fault.describe() == "f on the cloud"
