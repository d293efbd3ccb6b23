"""What a way is, and what it reports when it finds a service on a node."""

from __future__ import annotations

from dataclasses import dataclass, field

from ha_tests.discovery.catalog import CatalogEntry
from ha_tests.discovery.facts import NodeFacts
from ha_tests.transport import Shell


@dataclass(frozen=True)
class Finding:
    service: str
    node: str
    way: str
    rank: int
    running: bool
    #: where it was seen, in words an operator can check ("systemd unit keystone.service")
    source: str
    #: the inventory's Service fields that say how to control it (manager, unit, ...)
    control: dict = field(default_factory=dict)

    def same_control(self, other: Finding) -> bool:
        return self.control == other.control


class Way:
    """One way of running a service. ``gather`` may ask the node more (read-only) questions."""

    name = "way"
    rank = 50

    def gather(self, shell: Shell, facts: NodeFacts) -> None:
        """Add what this way needs beyond the common facts (read-only commands only)."""

    def find(self, service: str, entry: CatalogEntry, facts: NodeFacts) -> Finding | None:
        raise NotImplementedError

    def finding(self, service: str, facts: NodeFacts, running: bool, source: str,
                rank: int | None = None, **control) -> Finding:
        return Finding(service, facts.node, self.name, self.rank if rank is None else rank,
                       running, source, control)
