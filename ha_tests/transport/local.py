"""Commands on the runner's own machine, for a node declared ``transport: local``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence

from ha_tests.errors import TransportError
from ha_tests.transport.base import CommandResult, Shell


class LocalShell(Shell):
    def __init__(self, node_name: str = "localhost"):
        self.node_name = node_name

    def run(self, argv: Sequence[str], *, timeout: float = 30.0,
            stdin: bytes | None = None) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        started = time.monotonic()
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise TransportError(f"{self.node_name}: '{argv[0]}' timed out after {timeout:g} s")\
                from None
        except FileNotFoundError:
            raise TransportError(f"{self.node_name}: command not found: {argv[0]}") from None
        return CommandResult(argv, proc.returncode, proc.stdout.decode(errors="replace"),
                             proc.stderr.decode(errors="replace"), time.monotonic() - started)
