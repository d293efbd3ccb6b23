"""Services run as docker or podman containers, named as kolla-ansible (``keystone``,
``nova_api``) and TripleO (``keystone``, ``nova_api``, under ``tripleo_*`` units) name them."""

from __future__ import annotations

from ha_tests.discovery.catalog import CatalogEntry
from ha_tests.discovery.facts import NodeFacts
from ha_tests.discovery.ways.base import Finding, Way


class ContainerWay(Way):
    engine = "docker"
    rank = 20

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.engine

    def find(self, service: str, entry: CatalogEntry, facts: NodeFacts) -> Finding | None:
        by_name = {c.name: c for c in facts.containers if c.engine == self.engine}
        for name in entry.containers:
            container = by_name.get(name)
            if container is not None:
                state = "running" if container.running else "not running"
                return self.finding(service, facts, container.running,
                                    f"{self.engine} container {name} ({state})",
                                    manager=self.engine, container=name)
        return None


class DockerWay(ContainerWay):
    engine = "docker"


class PodmanWay(ContainerWay):
    engine = "podman"
