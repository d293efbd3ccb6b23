"""What every attacker, monitor and operation is: a named, validated use of a plugin on nodes.

One shape for the three kinds, so a scenario file's plugin entry is checked the same way
whatever it names (``Params`` validates its parameters, ``needs_target`` says whether it
must have a ``target:``) and the runner builds each one the same way.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

from ha_tests.validation import StrictModel

if TYPE_CHECKING:
    from ha_tests.context import RunContext
    from ha_tests.inventory import Node


class NoParams(StrictModel):
    """For plugins that take no parameters."""


class Plugin(abc.ABC):  # noqa: B024 - a base of shared shape; the kinds add the abstract verbs
    """A plugin in a scenario: its name there, its parameters, its nodes and the run's context."""

    Params: ClassVar[type[StrictModel]] = NoParams
    #: True when a scenario must give it a ``target:`` (the nodes it works on)
    needs_target: ClassVar[bool] = False

    def __init__(self, name: str, params: StrictModel, nodes: list[Node], ctx: RunContext):
        self.name = name
        self.params = params
        self.nodes = nodes
        self.ctx = ctx

    def describe(self) -> str:
        """One line for dry runs and progress: what it does, where."""
        where = ", ".join(n.name for n in self.nodes)
        return self.name + (f" on {where}" if where else "")


class TimedPlugin(Plugin):
    """A plugin whose every call is bounded by its ``timeout`` (monitors, operations)."""

    def __init__(self, name: str, params: StrictModel, nodes: list[Node], ctx: RunContext,
                 *, timeout: float):
        super().__init__(name, params, nodes, ctx)
        self.timeout = timeout
