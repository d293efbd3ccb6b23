"""The target cloud, declared once: nodes, how to reach them, their BMCs and services.

Format: docs/contracts.rst and README.rst ("Inventory"). With no inventory given, the
lab's inventory is used (``ha-tests lab up`` writes it).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from ha_tests.errors import InputError, Problem
from ha_tests.validation import StrictModel, check_regex, validate
from ha_tests.yamlsource import did_you_mean, load_file

DEFAULT_LAB_NAME = "halab"


def lab_base_dir() -> Path:
    return Path(os.environ.get("HA_TESTS_LAB_DIR", "/var/lib/ha-tests-lab"))


def default_inventory_path(lab_name: str = DEFAULT_LAB_NAME) -> Path:
    return lab_base_dir() / lab_name / "inventory.yaml"


class SshSettings(StrictModel):
    user: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    key_file: str | None = None
    password: SecretStr | None = None
    known_hosts: str | None = None
    verify_host_keys: bool | None = None
    connect_timeout: float | None = Field(None, gt=0, le=300)

    def merged(self, override: SshSettings | None) -> SshSettings:
        if override is None:
            return self
        values = self.model_dump()
        values.update({k: v for k, v in override.model_dump().items() if v is not None})
        return SshSettings(**values)


class BmcSettings(StrictModel):
    type: Literal["ipmi", "redfish"] = "ipmi"
    address: str | None = None
    port: int = Field(623, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    password_file: str | None = None
    url: str | None = None
    system_id: str | None = None
    verify: bool = True
    client: Literal["pyghmi", "ipmitool"] | None = None

    @model_validator(mode="after")
    def _needs_address(self):
        if self.type == "ipmi" and not self.address:
            raise ValueError("an IPMI BMC needs 'address'")
        if self.type == "redfish" and not self.url:
            raise ValueError("a Redfish BMC needs 'url'")
        return self

    def connection_mapping(self) -> dict:
        """Plain mapping for ha_tests.bmc.connect(), with the secret revealed only there."""
        data = self.model_dump(exclude_none=True, exclude={"password"})
        if self.password is not None:
            data["password"] = self.password.get_secret_value()
        return data


class Node(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    roles: list[str] = []
    address: str
    transport: Literal["ssh", "local"] = "ssh"
    ssh: SshSettings | None = None
    interfaces: dict[str, str] = {}
    bmc: BmcSettings | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


class Service(StrictModel):
    roles: list[str] = []
    nodes: list[str] = []
    process: str | None = None
    manager: Literal["systemd", "pacemaker", "docker", "podman", "command", "none"] = "none"
    unit: str | None = None
    resource: str | None = None
    container: str | None = None
    start: str | None = None
    stop: str | None = None
    status: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    #: where ``ha-tests discover`` found it (docs/discovery.rst); informative only
    source: str | None = None

    @field_validator("process")
    @classmethod
    def _regex_compiles(cls, value):
        return check_regex(value, "process")

    @model_validator(mode="after")
    def _manager_fields(self):
        needed = {"systemd": "unit", "pacemaker": "resource", "docker": "container",
                  "podman": "container", "command": "start"}.get(self.manager)
        if needed and not getattr(self, needed):
            raise ValueError(f"manager '{self.manager}' needs '{needed}'")
        return self


class LabVm(StrictModel):
    name: str
    host: str
    address: str


class LabInfo(StrictModel):
    name: str
    dir: str
    vms: list[LabVm] = []


class CloudAuth(StrictModel):
    """Credentials given inline (the Tempest plugin fills them from tempest.conf)."""

    auth_url: str
    username: str
    password: SecretStr
    project_name: str = "admin"
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str | None = None
    interface: str = "public"


class Notifications(StrictModel):
    """The cloud's message bus, for monitors that listen to its notifications."""

    transport_url: SecretStr
    #: Nova publishes on its control exchange, "nova" unless the deployment changed it
    exchange: str = "nova"
    topic: str = "versioned_notifications"
    #: the cloud's oslo.messaging has ``rabbit_quorum_queue = true``: its exchanges are
    #: durable, and a listener must declare them (and its own queue, a quorum one) so
    quorum_queues: bool = False


@dataclass(frozen=True)
class InventoryIdentity:
    """Which cloud an inventory names: its file, resolved, and what it says the nodes are.

    The fault ledger keys on it, so a path typed relative, absolute or from another directory
    finds the same entries, and a file since rewritten to name other machines is told apart.
    """

    path: str | None
    fingerprint: str

    def to_json(self) -> dict[str, str | None]:
        return {"path": self.path, "fingerprint": self.fingerprint}

    @classmethod
    def from_json(cls, data: object) -> InventoryIdentity | None:
        if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), str):
            return None
        path = data.get("path")
        return cls(path if isinstance(path, str) else None, data["fingerprint"])

    def __str__(self) -> str:
        return f"{self.path or '<inventory without a file>'} (nodes {self.fingerprint})"


class Inventory(StrictModel):
    name: str = "cloud"
    test_target: bool = False
    cloud: str | None = None
    clouds_yaml: str | None = None
    auth: CloudAuth | None = None
    vips: dict[str, str] = {}
    ssh: SshSettings = SshSettings()
    nodes: list[Node]
    services: dict[str, Service] = {}
    lab: LabInfo | None = None
    notifications: Notifications | None = None
    _source_file: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self):
        seen = set()
        for node in self.nodes:
            if node.name in seen:
                raise ValueError(f"node name '{node.name}' appears twice")
            seen.add(node.name)
        for vip_name, vip in self.vips.items():
            try:
                ipaddress.ip_address(vip)
            except ValueError:
                raise ValueError(f"vips.{vip_name}: '{vip}' is not an IP address") from None
        for svc_name, svc in self.services.items():
            for node_name in svc.nodes:
                if node_name not in seen:
                    hint = did_you_mean(node_name, seen) or ""
                    raise ValueError(f"services.{svc_name}.nodes: unknown node "
                                     f"'{node_name}' {hint}")
        return self

    # -- lookups -----------------------------------------------------------------------------
    @property
    def source_file(self) -> str | None:
        return self._source_file

    @property
    def identity(self) -> InventoryIdentity:
        """The resolved source file and a short fingerprint of its nodes and their addresses."""
        path = str(Path(self._source_file).resolve()) if self._source_file else None
        names = "\n".join(sorted(f"{n.name}={n.address}" for n in self.nodes))
        return InventoryIdentity(path, hashlib.sha256(names.encode()).hexdigest()[:12])

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        hint = did_you_mean(name, [n.name for n in self.nodes])
        raise InputError(Problem(self.source_file or "<inventory>", None, None, "nodes",
                                 f"no node named '{name}'",
                                 hint or "known: " + ", ".join(n.name for n in self.nodes)))

    def nodes_with_role(self, role: str) -> list[Node]:
        return [n for n in self.nodes if n.has_role(role)]

    def ssh_for(self, node: Node) -> SshSettings:
        return self.ssh.merged(node.ssh)

    def service(self, name: str) -> Service | None:
        return self.services.get(name)

    def service_nodes(self, name: str) -> list[Node]:
        svc = self.services[name]
        return [n for n in self.nodes
                if n.name in svc.nodes or any(n.has_role(r) for r in svc.roles)]

    @property
    def is_lab(self) -> bool:
        return self.lab is not None


def load_inventory(path: str | Path) -> Inventory:
    data, source = load_file(path)
    if not isinstance(data, dict):
        raise InputError(Problem(str(path), 1, 1, "", "an inventory is a mapping",
                                 "start with 'nodes:' (see README.rst, Inventory)"))
    inventory = validate(Inventory, data, source)
    inventory._source_file = str(path)
    return inventory


_PLACEHOLDER = __import__("re").compile(r"\{(vip|node):([A-Za-z0-9_.-]+)\}")


def expand_addresses(text: str, inventory: Inventory) -> str:
    """Replace ``{vip:api}`` and ``{node:ctl1}`` with addresses, so scenarios stay portable."""

    def replace(match) -> str:
        kind, name = match.groups()
        if kind == "vip":
            if name not in inventory.vips:
                raise InputError(Problem(inventory.source_file or "<inventory>", None, None,
                                         "vips", f"no VIP named '{name}'",
                                         did_you_mean(name, inventory.vips) or
                                         f"add 'vips: {{{name}: <address>}}' to the inventory"))
            return inventory.vips[name]
        return inventory.node(name).address

    return _PLACEHOLDER.sub(replace, text)
