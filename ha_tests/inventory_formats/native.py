"""ha-tests' own inventory format (docs/contracts.rst): the fallback when nothing else fits."""

from __future__ import annotations

from pathlib import Path

from ha_tests.inventory import Inventory, load_inventory
from ha_tests.inventory_formats import InventoryFormat


class HaTestsFormat(InventoryFormat):
    #: asked last: a file no other format recognizes is read as ha-tests' own
    detect_order = 1000

    def recognizes(self, path: Path, lines: list[str]) -> bool:
        return True

    def load(self, path: Path) -> Inventory:
        return load_inventory(path)
