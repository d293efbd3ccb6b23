"""The one interface attackers and monitors use to run commands on a node.

Commands are argv lists, quoted by the transport, so a process or interface name can never
inject shell syntax. Shell snippets written by plugin authors take user data only as
positional parameters through :func:`script`.
"""

from __future__ import annotations

import abc
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ha_tests.errors import TransportError


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def check(self, what: str = "") -> CommandResult:
        if self.rc != 0:
            detail = (self.stderr or self.stdout).strip().splitlines()[-1:] or [""]
            raise TransportError(f"{what or shlex.join(self.argv)[:120]} failed "
                                 f"(exit {self.rc}): {detail[0][:300]}")
        return self


def script(body: str, *args: str) -> list[str]:
    """argv that runs a fixed shell body with user data as $1, $2, ... (never interpolated)."""
    return ["sh", "-c", body, "ha-tests", *[str(a) for a in args]]


class Shell(abc.ABC):
    """A node's command runner. Every call has a timeout; none can hang a run."""

    node_name: str

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, timeout: float = 30.0,
            stdin: bytes | None = None) -> CommandResult:
        """Run argv; raise TransportError if the node cannot be reached or time runs out."""

    def close(self) -> None:
        """Drop the connection (the pool reconnects on next use)."""
