"""A Yardstick ``pod.yaml`` as an ha-tests Inventory, reading exactly the fields Yardstick reads.

Yardstick's Node context names a node ``<pod name>.<context name>`` (node1.LF), connects with
``user`` (default root), ``ip``, ``ssh_port``, ``key_filename`` or ``password``, and powers it
over IPMI with ``ipmi_ip``, ``ipmi_user`` (default root) and ``ipmi_password``. Any other field
does nothing in an HA test case: it is warned about, never silently dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ha_tests.errors import InputError, Problem
from ha_tests.inventory import Inventory
from ha_tests.inventory_formats import InventoryFormat
from ha_tests.validation import validate
from ha_tests.yamlsource import SourceMap, load_file

#: node fields Yardstick's HA scenarios read (ssh.py, attacker_baremetal.py, node context)
READ_FIELDS = {"name", "role", "ip", "user", "ssh_port", "key_filename", "password",
               "ipmi_ip", "ipmi_user", "ipmi_password"}
#: fields Yardstick's other scenarios use; harmless here, but not used by HA test cases
OTHER_FIELDS = {"interfaces", "routing_table", "nd_route_tbl", "host", "collectd", "pkey"}


def _role_names(role: Any) -> list[str]:
    """Controller -> controller, so native scenarios' ``role: controller`` targets them too."""
    if role is None:
        return []
    return [str(role).lower()]


def pod_to_inventory(data: Any, source: SourceMap, context_name: str,
                     warnings: list[str], *, known_hosts: str | None = None,
                     verify_host_keys: bool | None = None) -> Inventory:
    file = source.file
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise InputError(Problem(file, 1, 1, "nodes", "a pod.yaml has a 'nodes:' list",
                                 "see Yardstick's etc/yardstick/nodes/pod.yaml.sample"))
    for key in data:
        if key != "nodes":
            warnings.append(f"{file}: {key}: not read by Yardstick's HA test cases; ignored")
    nodes = []
    for index, raw in enumerate(data["nodes"]):
        path = ("nodes", index)
        if not isinstance(raw, dict):
            raise InputError(source.problem(path, "a node is a mapping"))
        for field in ("name", "ip"):
            if not raw.get(field):
                raise InputError(source.problem(path, f"node has no '{field}'",
                                                f"add '{field}:' (Yardstick needs it too)"))
        # Yardstick's own test cases name nodes <node>.<context>; an installer's plain
        # inventory use (no context) keeps the pod's names
        name = f"{raw['name']}.{context_name}" if context_name else str(raw["name"])
        ssh: dict[str, Any] = {"user": str(raw.get("user") or "root")}
        if raw.get("ssh_port") is not None:
            ssh["port"] = raw["ssh_port"]
        if raw.get("key_filename"):
            ssh["key_file"] = str(raw["key_filename"])
        if raw.get("password") is not None:
            ssh["password"] = str(raw["password"])
        if known_hosts:
            ssh["known_hosts"] = known_hosts
        if verify_host_keys is not None:
            ssh["verify_host_keys"] = verify_host_keys
        if raw.get("pkey"):
            raise InputError(source.problem(
                path + ("pkey",), f"node {raw['name']}: an inline private key (pkey) cannot "
                "be used by ha-tests' SSH transport", "save it to a file and name it in "
                "'key_filename:' instead"))
        node: dict[str, Any] = {"name": name, "roles": _role_names(raw.get("role")),
                                "address": str(raw["ip"]), "ssh": ssh}
        password = raw.get("ipmi_password")
        if password is None and raw.get("ipmi_pwd") is not None:
            password = raw["ipmi_pwd"]
            warnings.append(
                f"{file}: nodes[{index}].ipmi_pwd: Yardstick reads 'ipmi_password' and would "
                "send no password to the BMC; ha-tests uses ipmi_pwd as the BMC password")
        if raw.get("ipmi_ip"):
            bmc: dict[str, Any] = {"type": "ipmi", "address": str(raw["ipmi_ip"]),
                                   "username": str(raw.get("ipmi_user") or "root")}
            if password is not None:
                bmc["password"] = str(password)
            node["bmc"] = bmc
        for key in raw:
            if key in READ_FIELDS or key in {"ipmi_pwd", "pkey"}:
                continue
            why = ("used by Yardstick's network-service scenarios, not its HA test cases"
                   if key in OTHER_FIELDS else "not read by Yardstick")
            warnings.append(f"{file}: nodes[{index}].{key}: {why}; ignored")
        nodes.append(node)
    inventory_data = {"name": f"yardstick pod {Path(file).name} ({context_name})",
                      "nodes": nodes}
    inventory = validate(Inventory, inventory_data, source)
    inventory._source_file = file
    return inventory


def load_pod(path: str | Path, context_name: str, warnings: list[str] | None = None,
             **ssh_options: Any) -> Inventory:
    """Read a pod.yaml into an Inventory whose nodes are named ``<node>.<context>``."""
    data, source = load_file(path)
    return pod_to_inventory(data, source, context_name,
                            warnings if warnings is not None else [], **ssh_options)


class PodFormat(InventoryFormat):
    """Yardstick's pod.yaml: nodes with ``ip:`` and ``role:``/``ipmi_ip:``, no ``services:``."""

    detect_order = 20

    def recognizes(self, path: Path, lines: list[str]) -> bool:
        return any(line.startswith(("ipmi_ip:", "role:", "- name:")) for line in lines) and \
            not any(line.startswith("services:") for line in lines) and \
            any("ip:" in line for line in lines)

    def load(self, path: Path) -> Inventory:
        return load_pod(path, "")
