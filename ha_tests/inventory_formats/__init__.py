"""Inventories installers already produce, read into ha-tests' own Inventory model.

ha-tests' format (docs/contracts.rst), Yardstick's pod.yaml, and Ansible inventories (INI or
YAML, as kolla-ansible and TripleO write them). ``load_any`` picks the reader by content.
"""

from __future__ import annotations

import os
from pathlib import Path

from ha_tests.errors import InputError, Problem
from ha_tests.inventory import Inventory, default_inventory_path, load_inventory
from ha_tests.yamlsource import read_bytes

FORMATS = ("ha-tests", "pod", "ansible")


def detect(path: Path) -> str:
    head = read_bytes(path)[:65536].decode("utf-8", "replace")
    stripped = [line.strip() for line in head.splitlines()
                if line.strip() and not line.strip().startswith(("#", ";"))]
    if stripped and stripped[0].startswith("["):
        return "ansible"
    if any(line.startswith(("all:", "children:")) for line in stripped):
        return "ansible"
    if any(line.startswith(("ipmi_ip:", "role:", "- name:")) for line in stripped) and \
            not any(line.startswith("services:") for line in stripped) and \
            any("ip:" in line for line in stripped):
        return "pod"
    return "ha-tests"


def load_any(path: str | Path, fmt: str = "auto") -> Inventory:
    path = Path(path)
    if fmt == "auto":
        fmt = detect(path)
    if fmt == "ha-tests":
        return load_inventory(path)
    if fmt == "ansible":
        from ha_tests.inventory_formats.ansible import load_ansible_inventory

        return load_ansible_inventory(path)
    if fmt == "pod":
        try:
            from ha_tests.inventory_formats.pod import load_pod
        except ImportError:
            raise InputError(Problem(str(path), None, None, "", "reading pod.yaml needs "
                                     "ha_tests.yardstick")) from None
        return load_pod(path, "")
    raise InputError(Problem(str(path), None, None, "", f"unknown inventory format '{fmt}'",
                             "use one of: auto, " + ", ".join(FORMATS)))


def resolve_inventory(path: str | Path | None, fmt: str = "auto") -> Inventory:
    """The given inventory (any format), else $HA_TESTS_INVENTORY, else the running lab's."""
    if path is None:
        path = os.environ.get("HA_TESTS_INVENTORY") or None
    if path is None:
        path = default_inventory_path()
        if not path.exists():
            raise InputError(Problem(str(path), None, None, "",
                                     "no inventory given and the lab is not up",
                                     "run 'ha-tests lab up' or pass --inventory FILE"))
    return load_any(path, fmt)
