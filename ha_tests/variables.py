"""``@variables`` of the scenario language: what an earlier operation set, used by a later one.

The scenario checks, when it is loaded, that every ``@name`` is set before it is used; the
operations replace them when they run. Both read the syntax from here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

#: ``@name`` in an operation's parameters: a variable an earlier operation set
VARIABLE = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def variables_used(params: BaseModel, *, undo: bool = False) -> set[str]:
    """The ``@names`` an operation's parameters refer to: its ``undo`` (which runs after it,
    so it may use what the operation itself set) when ``undo``, else everything else."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.update(VARIABLE.findall(value))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    values = params.model_dump()
    walk(values.get("undo") if undo else {k: v for k, v in values.items() if k != "undo"})
    return found
