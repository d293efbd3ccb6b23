"""openstack: one ``openstack`` CLI command against the inventory's cloud, and its undo.

Example (Yardstick's nova-create-instance, written natively)::

    - type: openstack
      name: boot-after-kill
      at: after-inject
      command: server create tc088 --image cirros --flavor m1.tiny --wait
      undo: server delete tc088 --wait
      timeout: 180

``command`` and ``undo`` may use ``@variables`` set by earlier operations; on a target node
(``clouds_yaml_on_node`` names its clouds.yaml when it differs) or on the runner.
"""

from __future__ import annotations

import shlex

from pydantic import field_validator

from ha_tests.monitors.api import scrub
from ha_tests.openstack_cli import OpenstackCli
from ha_tests.operations.base import CommandAndUndo, OperationResult, expand
from ha_tests.validation import StrictModel


def _argv(value: list[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    argv = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
    if argv and argv[0].rsplit("/", 1)[-1] == "openstack":
        argv = argv[1:]  # "openstack server list" and "server list" mean the same
    if not argv:
        raise ValueError("command is empty")
    return argv


class OpenstackParams(StrictModel):
    command: list[str] | str
    undo: list[str] | str | None = None
    clouds_yaml_on_node: str | None = None

    @field_validator("command", "undo")
    @classmethod
    def _argvs(cls, value):
        return _argv(value)


class OpenstackOperation(CommandAndUndo):
    Params = OpenstackParams

    def preflight(self) -> None:
        self.cli = OpenstackCli(self.ctx, self.nodes[0] if self.nodes else None, who=self.name,
                                clouds_yaml_on_node=self.params.clouds_yaml_on_node)
        self.secrets = self.ctx.secrets()

    def call(self, argv: list[str], variables: dict[str, str]) -> OperationResult:
        args = [expand(arg, variables) for arg in argv]
        result = self.cli.run(args, self.timeout)
        detail: dict = {"command": "openstack " + shlex.join(args), "rc": result.rc}
        if result.rc is None:
            detail["error"] = f"openstack did not finish within {self.timeout:g} s"
        elif result.rc != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            detail["error"] = scrub("\n".join(lines[-3:]), self.secrets)[-300:] or \
                f"exit status {result.rc}"
        return OperationResult(result.rc == 0, result.stdout, detail)

    def shown(self, command: list[str]) -> str:
        return "openstack " + shlex.join(command)
