"""Inventories installers already produce, read into ha-tests' own Inventory model.

Each format is a class registered under the entry-point group ``ha_tests.inventory_formats``
(the entry-point name is what ``--inventory-format`` takes): ha-tests' own format
(docs/contracts.rst), Yardstick's pod.yaml and Ansible inventories (INI or YAML, as
kolla-ansible and TripleO write them) ship with ha-tests; a user adds one with one file and
one entry point. ``load_any`` with ``auto`` asks each format, in ``detect_order``, whether it
recognizes the file; ha-tests' own format answers last, and always yes.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import ClassVar

from ha_tests import plugins
from ha_tests.errors import InputError, Problem
from ha_tests.inventory import Inventory, default_inventory_path
from ha_tests.yamlsource import read_bytes

#: how much of a file ``recognizes`` sees
HEAD_BYTES = 65536


class InventoryFormat(abc.ABC):
    """One kind of inventory file: whether a file is one, and how to read it."""

    #: asked in this order (lowest first) when the format is ``auto``
    detect_order: ClassVar[int] = 100

    def recognizes(self, path: Path, lines: list[str]) -> bool:
        """Whether ``path`` is in this format, from its first lines (stripped, without blank
        lines and ``#``/``;`` comments). Default: never guessed, only chosen by name."""
        return False

    @abc.abstractmethod
    def load(self, path: Path) -> Inventory:
        """The inventory the file describes; bad input is an InputError naming file and line."""


def names() -> list[str]:
    return plugins.names(plugins.INVENTORY_FORMATS)


def _formats() -> list[tuple[str, InventoryFormat]]:
    found = [(name, plugins.load(plugins.INVENTORY_FORMATS, name)()) for name in names()]
    return sorted(found, key=lambda item: (item[1].detect_order, item[0]))


def _head(path: Path) -> list[str]:
    head = read_bytes(path)[:HEAD_BYTES].decode("utf-8", "replace")
    return [line.strip() for line in head.splitlines()
            if line.strip() and not line.strip().startswith(("#", ";"))]


def detect(path: str | Path) -> str:
    """The name of the first format (in ``detect_order``) that recognizes the file."""
    path = Path(path)
    lines = _head(path)
    for name, fmt in _formats():
        if fmt.recognizes(path, lines):
            return name
    return "ha-tests"


def load_any(path: str | Path, fmt: str = "auto") -> Inventory:
    """The inventory in ``path``, read by the format named (``auto``: the one detected)."""
    path = Path(path)
    name = detect(path) if fmt == "auto" else fmt
    try:
        reader = plugins.load(plugins.INVENTORY_FORMATS, name)
    except plugins.UnknownPlugin as exc:
        raise InputError(Problem(str(path), None, None, "", f"unknown inventory format '{name}'",
                                 "use one of: auto, " + ", ".join(exc.known)
                                 + " (a new format registers under the entry-point group "
                                 f"'{plugins.INVENTORY_FORMATS}')")) from None
    return reader().load(path)


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
