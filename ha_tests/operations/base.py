"""What every operation is: run once, maybe set variables, maybe be undone.

The runner owns when (``at:``), the verdict (``expect:``, ``gate:``) and the variables
(``sets:``); a plugin only runs its command and says what came out, so every operation's
record and check read the same.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from typing import Any

from ha_tests.errors import HaTestsError
from ha_tests.plugin_base import TimedPlugin
from ha_tests.variables import VARIABLE, variables_used  # noqa: F401  (the plugins' face)


class OperationError(HaTestsError):
    """An operation could not be run at all (as opposed to running and failing)."""


@dataclass
class OperationResult:
    ok: bool
    #: what the operation printed: what ``expect:`` judges and ``sets:`` reads
    output: str = ""
    #: small JSON-able facts for the record (exit code, error text)
    detail: dict[str, Any] = field(default_factory=dict)


def expand(text: str, variables: dict[str, str], quote=lambda value: value) -> str:
    """Replace each ``@name`` with its value (through ``quote``, e.g. for a shell); a name
    no operation set is an error."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            raise OperationError(f"variable @{name} has no value (the operation that sets it "
                                 "did not run or failed)")
        return quote(variables[name])
    return VARIABLE.sub(value, text)


class Operation(TimedPlugin, abc.ABC):
    def preflight(self) -> None:
        """Check before the baseline that it can run (PreflightError if not)."""

    @abc.abstractmethod
    def run(self, variables: dict[str, str]) -> OperationResult:
        """Do it once, within ``self.timeout``."""

    def undo(self, variables: dict[str, str]) -> OperationResult | None:
        """Take back what ``run`` made; None when there is nothing to take back."""
        return None

    @property
    def has_undo(self) -> bool:
        """Whether ``undo`` may take something back (then the fault ledger records it)."""
        return type(self).undo is not Operation.undo


class CommandAndUndo(Operation):
    """An operation whose Params have ``command`` and an optional ``undo`` of the same kind:
    running is calling the one, undoing the other."""

    @abc.abstractmethod
    def call(self, command: Any, variables: dict[str, str]) -> OperationResult:
        """Run one command (``command`` or ``undo``) with ``@variables`` replaced."""

    @abc.abstractmethod
    def shown(self, command: Any) -> str:
        """The command as a person reads it."""

    def run(self, variables: dict[str, str]) -> OperationResult:
        return self.call(self.params.command, variables)  # type: ignore[attr-defined]

    def undo(self, variables: dict[str, str]) -> OperationResult | None:
        undo = self.params.undo  # type: ignore[attr-defined]
        return None if undo is None else self.call(undo, variables)

    @property
    def has_undo(self) -> bool:
        return self.params.undo is not None  # type: ignore[attr-defined]

    def describe(self) -> str:
        where = f" on {self.nodes[0].name}" if self.nodes else ""
        return f"{self.name}: {self.shown(self.params.command)}{where}"  # type: ignore
