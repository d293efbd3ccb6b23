"""command: any command, on a target node or on the runner; success by exit code or output.

Example::

    - type: command
      command: [openstack, --os-cloud, ha-lab, endpoint, list]
      expect_exit: 0
      expect_output: keystone
"""

from __future__ import annotations

import re
import shlex
import time

from pydantic import field_validator

from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.transport.local import LocalShell
from ha_tests.validation import StrictModel, check_regex


class CommandParams(StrictModel):
    command: list[str] | str
    expect_exit: int = 0
    expect_output: str | None = None

    @field_validator("command")
    @classmethod
    def _argv(cls, value):
        argv = shlex.split(value) if isinstance(value, str) else value
        if not argv:
            raise ValueError("command is empty")
        return argv

    @field_validator("expect_output")
    @classmethod
    def _regex(cls, value):
        return check_regex(value, "expect_output")


class CommandMonitor(Monitor):
    Params = CommandParams

    def probe(self) -> ProbeResult:
        shell = self.ctx.shell(self.nodes[0]) if self.nodes else LocalShell()
        started = time.monotonic()
        result = shell.run(self.params.command, timeout=self.timeout)
        ok = result.rc == self.params.expect_exit
        if ok and self.params.expect_output:
            ok = re.search(self.params.expect_output, result.stdout) is not None
        detail = {"rc": result.rc}
        if not ok:
            detail["error"] = (result.stderr or result.stdout).strip()[-300:]
        return ProbeResult(ok, time.monotonic() - started, detail)
