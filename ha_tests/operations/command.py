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

from ha_tests.operations.base import VARIABLE, Operation, OperationError, OperationResult
from ha_tests.transport.local import LocalShell
from ha_tests.validation import StrictModel


class CommandParams(StrictModel):
    command: str
    undo: str | None = None


def _expand_quoted(text: str, variables: dict[str, str]) -> str:
    def value(match):
        name = match.group(1)
        if name not in variables:
            raise OperationError(f"variable @{name} has no value (the operation that sets it "
                                 "did not run or failed)")
        return shlex.quote(variables[name])
    return VARIABLE.sub(value, text)


class CommandOperation(Operation):
    Params = CommandParams

    def _call(self, command: str, variables: dict[str, str]) -> OperationResult:
        text = _expand_quoted(command, variables)
        shell = self.ctx.shell(self.nodes[0]) if self.nodes else LocalShell()
        result = shell.run(["sh", "-c", text], timeout=self.timeout)
        detail: dict = {"command": text, "rc": result.rc}
        if result.rc != 0:
            detail["error"] = (result.stderr or result.stdout).strip()[-300:] or \
                f"exit status {result.rc}"
        return OperationResult(result.rc == 0, result.stdout, detail)

    def run(self, variables: dict[str, str]) -> OperationResult:
        return self._call(self.params.command, variables)

    def undo(self, variables: dict[str, str]) -> OperationResult | None:
        if self.params.undo is None:
            return None
        return self._call(self.params.undo, variables)

    def describe(self) -> str:
        where = f" on {self.nodes[0].name}" if self.nodes else ""
        return f"{self.name}: {self.params.command}{where}"
