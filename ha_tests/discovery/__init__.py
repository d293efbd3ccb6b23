"""Find what to attack from a real deployment itself: services (however they run), VIPs,
roles and endpoints, read-only, each with where it was found (docs/discovery.rst).

Public face: ``discover``, ``complete_inventory``, ``needs_of``, ``load_catalog``,
``render``/``merged_data``; the ways are plugins (entry-point group ``ha_tests.discovery``).
"""

from ha_tests.discovery.catalog import Catalog, CatalogEntry, load_catalog
from ha_tests.discovery.complete import Needs, complete_inventory, merged_data, needs_of
from ha_tests.discovery.discover import READ_ONLY, Discovery, discover, ways
from ha_tests.discovery.render import render

__all__ = ["READ_ONLY", "Catalog", "CatalogEntry", "Discovery", "Needs", "complete_inventory",
           "discover", "load_catalog", "merged_data", "needs_of", "render", "ways"]
