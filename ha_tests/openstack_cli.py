"""Running the ``openstack`` CLI against the inventory's cloud, here or on a node.

Shared by the ``openstack-cmd`` monitor (a command a sample) and the ``openstack`` operation
(a command once). Each call reaches the inventory's cloud and no other: every ``OS_*``
variable of the runner's (or the node's) environment is removed first, since the CLI takes
``OS_AUTH_URL`` and friends over its clouds.yaml, and a stray ``OS_CLOUD`` would pick another
cloud. The cloud is then named through ``OS_CLOUD`` and ``OS_CLIENT_CONFIG_FILE``: the
inventory's own ``cloud``/``clouds_yaml``, or, for inline ``auth:`` (what the Tempest plugin
builds) and inventories that name no cloud, a clouds.yaml generated from the very cloud
config the API monitors use, written to a private temporary file for the one call (fed on
stdin on a node) and removed after it. No credential is ever in an argv or a process list.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ha_tests.errors import PreflightError

if TYPE_CHECKING:
    from ha_tests.context import RunContext
    from ha_tests.inventory import Node

#: the one cloud of a generated clouds.yaml
GENERATED_CLOUD = "ha-tests"
#: what a generated clouds.yaml keeps of the resolved cloud config
CLOUD_KEYS = ("auth", "auth_type", "region_name", "interface", "identity_api_version",
              "verify", "cacert", "cert", "key")

#: on a node: drop every OS_* variable, name the cloud, feed a generated clouds.yaml from
#: stdin into a private file removed on exit ($2 = "-"), then run openstack "$@"
NODE_SCRIPT = r"""
for name in $(env | sed -n 's/^\(OS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$name"; done
[ -n "$1" ] && export OS_CLOUD="$1"
if [ "$2" = "-" ]; then
    umask 077
    config=$(mktemp) || exit 125
    trap 'rm -f "$config"' EXIT
    trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
    cat > "$config"
    export OS_CLIENT_CONFIG_FILE="$config"
elif [ -n "$2" ]; then
    export OS_CLIENT_CONFIG_FILE="$2"
fi
shift 2
openstack "$@" < /dev/null
"""


def scrubbed_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The runner's environment without a single ``OS_*`` variable."""
    environ = dict(os.environ) if environ is None else environ
    return {k: v for k, v in environ.items() if not k.startswith("OS_")}


def generated_clouds_yaml(config: dict[str, Any]) -> str:
    """A clouds.yaml (JSON is YAML) holding one cloud, GENERATED_CLOUD, from a resolved
    openstacksdk cloud config."""
    cloud = {k: config[k] for k in CLOUD_KEYS if config.get(k) not in (None, "", {})}
    return json.dumps({"clouds": {GENERATED_CLOUD: cloud}}, default=str)


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
        self.cloud: str | None = inventory.cloud
        self.clouds_yaml: str | None = clouds_yaml_on_node if node is not None and \
            clouds_yaml_on_node else inventory.clouds_yaml
        #: the clouds.yaml text each call writes to a private file, when not the inventory's
        self.generated: str | None = None
        if inventory.auth is not None or not inventory.cloud:
            try:
                config = ctx.cloud_config().config
            except Exception as exc:  # openstack.exceptions.ConfigException and friends
                raise PreflightError(
                    f"{who}: no cloud to run 'openstack' against ({type(exc).__name__}: "
                    f"{exc}); give the inventory 'cloud:' and 'clouds_yaml:', or 'auth:'"
                    " (the runner's OS_* variables are never passed to the CLI)") from None
            self.generated = generated_clouds_yaml(config)
            self.cloud, self.clouds_yaml = GENERATED_CLOUD, None
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
            config = "-" if self.generated is not None else (self.clouds_yaml or "")
            result = self.ctx.shell(self.node).run(
                ["sh", "-c", NODE_SCRIPT, "ha-tests", self.cloud or "", config, *args],
                timeout=timeout,
                stdin=self.generated.encode() if self.generated is not None else None)
            return CliResult(result.rc, result.stdout, result.stderr)
        env = scrubbed_environment()
        if self.cloud:
            env["OS_CLOUD"] = self.cloud
        if self.clouds_yaml:
            env["OS_CLIENT_CONFIG_FILE"] = self.clouds_yaml
        with tempfile.TemporaryDirectory(prefix="ha-tests-cli-") as private:  # mode 0700
            if self.generated is not None:
                path = Path(private) / "clouds.yaml"
                path.touch(mode=0o600)
                path.write_text(self.generated, encoding="utf-8")
                env["OS_CLIENT_CONFIG_FILE"] = str(path)
            try:
                done = subprocess.run([self.binary, *args], env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired as exc:  # run() killed the process
                return CliResult(None, _text(exc.stdout), _text(exc.stderr))
        return CliResult(done.returncode, done.stdout, done.stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
