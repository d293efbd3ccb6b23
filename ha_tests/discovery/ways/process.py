"""A bare process nothing on the node manages: it can be killed, frozen or watched, never
stopped or started (the inventory says ``manager: none``)."""

from __future__ import annotations

from ha_tests.discovery.catalog import CatalogEntry
from ha_tests.discovery.facts import NodeFacts
from ha_tests.discovery.ways.base import Finding, Way


class ProcessWay(Way):
    name = "process"
    rank = 90

    def find(self, service: str, entry: CatalogEntry, facts: NodeFacts) -> Finding | None:
        matches = facts.running(entry.process)
        if not matches:
            return None
        return self.finding(service, facts, True,
                            f"process pid {matches[0].pid} ({matches[0].cmdline[:60]})",
                            manager="none")
