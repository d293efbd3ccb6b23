"""Ansible inventories (INI or YAML, group_vars/host_vars beside them) via ansible-core itself.

Parsing Ansible's formats by hand would disagree with Ansible on some corner; ansible-core's
InventoryManager is the reader installers' files are written for. Host variables map as:
ansible_host/ansible_port/ansible_user/ansible_ssh_private_key_file/ansible_password → SSH
(and ``-o UserKnownHostsFile=`` in ansible_ssh_common_args/_extra_args → known_hosts;
``ansible_connection=local`` → the local transport);
ipmi_address (or bmc_address)/ipmi_port/ipmi_username/ipmi_password → an IPMI BMC;
redfish_url/redfish_username/redfish_password/redfish_system_id → a Redfish BMC; groups →
roles (kolla's ``control``/TripleO's ``Controller`` → ``controller``, ``compute``/``Compute``
→ ``compute``, others kept as they are); ``ha_tests_vips`` (a mapping) and ``ha_tests_cloud``
from the ``all`` group → vips and cloud.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ha_tests.errors import InputError, Problem
from ha_tests.inventory import Inventory
from ha_tests.inventory_formats import InventoryFormat
from ha_tests.validation import validate
from ha_tests.yamlsource import SourceMap

ROLE_ALIASES = {
    "control": "controller", "controller": "controller", "controllers": "controller",
    "compute": "compute", "computes": "compute", "storage": "storage", "network": "network",
    "monitoring": "monitoring",
}
_SKIP_GROUPS = {"all", "ungrouped"}


def _role(group: str) -> str:
    return ROLE_ALIASES.get(group.lower(), group.lower())


def _bmc(hostvars: dict[str, Any]) -> dict[str, Any] | None:
    address = hostvars.get("ipmi_address") or hostvars.get("bmc_address")
    if address:
        bmc = {"type": "ipmi", "address": str(address)}
        for key, target in (("ipmi_port", "port"), ("ipmi_username", "username"),
                            ("ipmi_password", "password")):
            if hostvars.get(key) is not None:
                bmc[target] = hostvars[key]
        return bmc
    if hostvars.get("redfish_url"):
        bmc = {"type": "redfish", "url": str(hostvars["redfish_url"])}
        for key, target in (("redfish_username", "username"), ("redfish_password", "password"),
                            ("redfish_system_id", "system_id")):
            if hostvars.get(key) is not None:
                bmc[target] = hostvars[key]
        return bmc
    return None


_KNOWN_HOSTS = __import__("re").compile(r"UserKnownHostsFile[= ]\s*(\S+)")


def _known_hosts(hostvars: dict[str, Any]) -> str | None:
    """The known_hosts file Ansible's ssh is told of (``-o UserKnownHostsFile=...``), so
    host keys are verified against the same file Ansible uses."""
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        match = _KNOWN_HOSTS.search(str(hostvars.get(key) or ""))
        if match:
            return match.group(1).strip("'\"")
    return None


def load_ansible_inventory(path: str | Path) -> Inventory:
    path = Path(path)
    try:
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        from ansible.vars.manager import VariableManager
    except ImportError:
        raise InputError(Problem(str(path), None, None, "", "reading Ansible inventories needs "
                                 "ansible-core", "pip install 'ha-tests[ansible]'")) from None
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=manager)
    hosts = manager.get_hosts()
    if not hosts:
        raise InputError(Problem(str(path), None, None, "", "no hosts found in this Ansible "
                                 "inventory", "is it an inventory file (INI or YAML)?"))
    nodes = []
    all_vars: dict[str, Any] = {}
    for host in hosts:
        hostvars = variables.get_vars(host=host, include_hostvars=False)
        all_vars = hostvars
        roles = sorted({_role(g.name) for g in host.get_groups() if g.name not in _SKIP_GROUPS})
        node: dict[str, Any] = {"name": host.name, "roles": roles,
                                "address": str(hostvars.get("ansible_host", host.name))}
        if hostvars.get("ansible_connection") == "local":
            node["transport"] = "local"  # kolla's [deployment] localhost: this machine
        ssh = {}
        for key, target in (("ansible_user", "user"), ("ansible_port", "port"),
                            ("ansible_ssh_private_key_file", "key_file"),
                            ("ansible_password", "password")):
            if hostvars.get(key) is not None:
                ssh[target] = hostvars[key]
        known_hosts = _known_hosts(hostvars)
        if known_hosts:
            ssh["known_hosts"] = known_hosts
        if ssh:
            node["ssh"] = ssh
        bmc = _bmc(hostvars)
        if bmc:
            node["bmc"] = bmc
        nodes.append(node)
    data: dict[str, Any] = {"name": path.stem, "nodes": nodes}
    if isinstance(all_vars.get("ha_tests_vips"), dict):
        data["vips"] = {str(k): str(v) for k, v in all_vars["ha_tests_vips"].items()}
    if all_vars.get("ha_tests_cloud"):
        data["cloud"] = str(all_vars["ha_tests_cloud"])
    inventory = validate(Inventory, data, SourceMap(str(path)))
    inventory._source_file = str(path)
    return inventory


class AnsibleFormat(InventoryFormat):
    """INI (a first line ``[group]``) or YAML (``all:`` / ``children:``) Ansible inventories."""

    detect_order = 10

    def recognizes(self, path: Path, lines: list[str]) -> bool:
        return bool(lines) and lines[0].startswith("[") or \
            any(line.startswith(("all:", "children:")) for line in lines)

    def load(self, path: Path) -> Inventory:
        return load_ansible_inventory(path)
