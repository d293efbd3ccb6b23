"""openstack-cmd: the ``openstack`` CLI, as Yardstick's ``openstack-cmd`` monitor runs it.

For parity with Yardstick test cases (``command_name: "openstack user list"``). Each sample
starts a new ``openstack`` process, which authenticates, discovers versions and makes the
call: about 1-2 s of Python start-up and HTTP per sample, so keep ``interval`` and
``timeout`` at 2-3 s or more, and prefer the ``api`` monitor (one call, milliseconds) for
outage times worth reporting. A process past the probe's timeout is killed.

The cloud comes from the inventory: ``OS_CLOUD`` = ``cloud`` and ``OS_CLIENT_CONFIG_FILE`` =
``clouds_yaml`` in the command's environment. It runs on the runner, or on the monitor's
target node over SSH (``clouds_yaml_on_node`` names the file there, when it differs).

ok when the exit status is ``expect_exit`` (0) and, if given, ``expect_output`` (a regex)
matches the output.

Example::

    - type: openstack-cmd
      command: openstack user list      # or command_name:, as Yardstick writes it
      interval: 3
      timeout: 5
"""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator

from ha_tests.monitors.api import open_connection, scrub, secrets_of
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.openstack_cli import OpenstackCli
from ha_tests.validation import StrictModel, check_regex


class OpenstackCmdParams(StrictModel):
    command: list[str] | str = Field(validation_alias=AliasChoices("command", "command_name"))
    expect_exit: int = 0
    expect_output: str | None = None
    clouds_yaml_on_node: str | None = None

    @field_validator("command")
    @classmethod
    def _argv(cls, value):
        argv = shlex.split(value) if isinstance(value, str) else list(value)
        if not argv:
            raise ValueError("command is empty")
        if Path(argv[0]).name != "openstack":
            argv = ["openstack", *argv]   # "user list" means "openstack user list"
        return argv

    @field_validator("expect_output")
    @classmethod
    def _regex(cls, value):
        return check_regex(value, "expect_output")


class OpenstackCmdMonitor(Monitor):
    Params = OpenstackCmdParams

    def setup(self) -> None:
        self.secrets = secrets_of(open_connection(self.ctx, self.timeout)) + self.ctx.secrets()
        node = self.nodes[0] if self.nodes else None
        self.cli = OpenstackCli(self.ctx, node, who=self.name,
                                clouds_yaml_on_node=self.params.clouds_yaml_on_node)

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        result = self.cli.run(list(self.params.command)[1:], self.timeout)
        if result.rc is None:
            return ProbeResult(False, detail={
                "error": f"openstack did not finish within {self.timeout:g} s"})
        latency = time.monotonic() - started
        ok = result.rc == self.params.expect_exit
        if ok and self.params.expect_output:
            ok = re.search(self.params.expect_output, result.stdout) is not None
        detail: dict = {"rc": result.rc}
        if not ok:
            lines = (result.stderr or result.stdout).strip().splitlines()
            detail["error"] = scrub("\n".join(lines[-3:]), self.secrets)[-300:]
        return ProbeResult(ok, latency, detail)

    def describe(self) -> str:
        where = f" on {self.nodes[0].name}" if self.nodes else ""
        return f"{self.name}: {shlex.join(self.params.command)}{where}"
