"""Services run as systemd units: Debian/Ubuntu packages, OpenStack-Ansible, RDO, DevStack,
and TripleO, whose podman containers each run under a ``tripleo_<container>`` unit."""

from __future__ import annotations

from ha_tests.discovery.catalog import CatalogEntry
from ha_tests.discovery.facts import NodeFacts
from ha_tests.discovery.ways.base import Finding, Way

#: TripleO's unit must be used to stop its container (stopping the container behind
#: systemd's back makes systemd start it again), so it outranks the container itself
TRIPLEO_RANK = 15


class SystemdWay(Way):
    name = "systemd"
    rank = 30

    def find(self, service: str, entry: CatalogEntry, facts: NodeFacts) -> Finding | None:
        for container in entry.containers:
            unit = facts.units.get(f"tripleo_{container}")
            if unit is not None:
                return self.finding(service, facts, unit.active == "active",
                                    f"systemd unit tripleo_{container}.service ({unit.active}) "
                                    "running a TripleO container", rank=TRIPLEO_RANK,
                                    manager="systemd", unit=f"tripleo_{container}.service")
        for name in entry.units:
            unit = facts.units.get(name)
            if unit is not None:
                return self.finding(service, facts, unit.active == "active",
                                    f"systemd unit {name}.service ({unit.active})",
                                    manager="systemd", unit=f"{name}.service")
        return None
