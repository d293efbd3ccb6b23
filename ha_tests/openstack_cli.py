"""Running the ``openstack`` CLI against the inventory's cloud, here or on a node.

Shared by the ``openstack-cmd`` monitor (a command a sample) and the ``openstack`` operation
(a command once): both point the CLI at the inventory's cloud through ``OS_CLOUD`` and
``OS_CLIENT_CONFIG_FILE`` in the command's environment, never on its command line, so no
credential is in an argv or a process list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ha_tests.errors import PreflightError

if TYPE_CHECKING:
    from ha_tests.context import RunContext
    from ha_tests.inventory import Node


def local_openstack() -> str | None:
    """The ``openstack`` next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "openstack"
    if beside.exists():
        return str(beside)
    return shutil.which("openstack")


@dataclass
class CliResult:
    rc: int | None  # None: killed at its timeout
    stdout: str
    stderr: str


class OpenstackCli:
    """``openstack ARGS`` with the inventory's cloud, on the runner or on ``node``."""

    def __init__(self, ctx: RunContext, node: Node | None = None, *, who: str,
                 clouds_yaml_on_node: str | None = None):
        inventory = ctx.inventory
        self.ctx, self.node = ctx, node
        self.env: dict[str, str] = {}
        if inventory.cloud:
            self.env["OS_CLOUD"] = inventory.cloud
        clouds_yaml = clouds_yaml_on_node if node is not None and clouds_yaml_on_node \
            else inventory.clouds_yaml
        if clouds_yaml:
            self.env["OS_CLIENT_CONFIG_FILE"] = clouds_yaml
        if node is not None:
            found = ctx.shell(node).run(["sh", "-c", "command -v openstack"], timeout=10)
            if not found.ok:
                raise PreflightError(f"{who}: no 'openstack' command on {node.name}")
            self.binary = "openstack"
        else:
            binary = local_openstack()
            if binary is None:
                raise PreflightError(f"{who}: no 'openstack' command here (install "
                                     "python-openstackclient)")
            self.binary = binary

    def run(self, args: list[str], timeout: float) -> CliResult:
        """One command; ``args`` without the leading ``openstack``."""
        if self.node is not None:
            env = [f"{k}={v}" for k, v in self.env.items()]
            result = self.ctx.shell(self.node).run(["env", *env, self.binary, *args],
                                                   timeout=timeout)
            return CliResult(result.rc, result.stdout, result.stderr)
        try:
            done = subprocess.run([self.binary, *args], env={**os.environ, **self.env},
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:  # run() killed the process
            return CliResult(None, _text(exc.stdout), _text(exc.stderr))
        return CliResult(done.returncode, done.stdout, done.stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
