"""command: one shell command on a target node (or on the runner), and its undo.

Example (Yardstick's get-vip-host, written natively)::

    - type: command
      name: vip-holder
      target: checker
      command: pcs resource show | grep -w vip__management | awk '{print $4}'
      sets: {vip_host: all}

``command`` and ``undo`` run under ``sh -c``, with ``@variables`` replaced first (quoted
for the shell).
"""

from __future__ import annotations

import shlex

from ha_tests.operations.base import CommandAndUndo, OperationResult, expand
from ha_tests.transport.local import LocalShell
from ha_tests.validation import StrictModel


class CommandParams(StrictModel):
    command: str
    undo: str | None = None


class CommandOperation(CommandAndUndo):
    Params = CommandParams

    def call(self, command: str, variables: dict[str, str]) -> OperationResult:
        text = expand(command, variables, shlex.quote)
        shell = self.ctx.shell(self.nodes[0]) if self.nodes else LocalShell()
        result = shell.run(["sh", "-c", text], timeout=self.timeout)
        detail: dict = {"command": text, "rc": result.rc}
        if result.rc != 0:
            detail["error"] = (result.stderr or result.stdout).strip()[-300:] or \
                f"exit status {result.rc}"
        return OperationResult(result.rc == 0, result.stdout, detail)

    def shown(self, command: str) -> str:
        return command
