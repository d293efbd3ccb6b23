"""One discovery: ask every node (read-only), match the catalogue through every way, name
the VIPs, the roles and the endpoints, and say where each was found."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from ha_tests.discovery import kolla
from ha_tests.discovery.catalog import Catalog, load_catalog
from ha_tests.discovery.endpoints import Endpoint, catalog_endpoints
from ha_tests.discovery.facts import DEFAULT_TIMEOUT, NodeFacts, gather
from ha_tests.discovery.vips import VipCandidate, find_vips
from ha_tests.discovery.ways import Finding, Way
from ha_tests.errors import HaTestsError
from ha_tests.inventory import Inventory
from ha_tests.transport import ShellPool

GROUP = "ha_tests.discovery"
READ_ONLY = ("discovery only reads: it lists processes, units, containers, Pacemaker "
             "resources and addresses and reads configuration files; it never starts, "
             "stops or changes anything")


@cache
def ways() -> tuple[Way, ...]:
    """Every registered way, best rank first."""
    found = [ep.load()() for ep in entry_points(group=GROUP)]
    return tuple(sorted(found, key=lambda w: w.rank))


@dataclass
class DiscoveredService:
    name: str
    nodes: list[str]
    way: str
    control: dict
    process: str
    port: int | None
    source: str
    running: dict[str, bool]

    def as_inventory(self) -> dict:
        entry = {"nodes": self.nodes, "process": self.process, **self.control}
        if self.port:
            entry["port"] = self.port
        entry["source"] = self.source
        return entry


@dataclass
class Discovery:
    services: dict[str, DiscoveredService] = field(default_factory=dict)
    vips: dict[str, VipCandidate] = field(default_factory=dict)
    roles: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    #: node -> (its management interface, where found), for the ``mgmt`` of ``interfaces:``
    interfaces: dict[str, tuple[str, str]] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    auth: dict | None = None
    auth_source: str | None = None
    unreachable: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What was found, for the operator (no secret: only names, nodes and addresses)."""
        out = [READ_ONLY + "."]
        for name, service in self.services.items():
            out.append(f"service {name}: {service.way} on {', '.join(service.nodes)} "
                       f"({service.source})")
        for name, vip in self.vips.items():
            out.append(f"vip {name}: {vip.address} ({'; '.join(vip.sources)})")
        for node, (roles, source) in self.roles.items():
            out.append(f"node {node}: roles {', '.join(roles) or 'none'} ({source})")
        for node, (interface, source) in self.interfaces.items():
            out.append(f"node {node}: interface mgmt = {interface} ({source})")
        for endpoint in self.endpoints:
            out.append(f"endpoint {endpoint.service} {endpoint.interface}: {endpoint.url}")
        for node, error in self.unreachable.items():
            out.append(f"node {node} NOT asked: {error}")
        out += self.notes
        return out


#: roles of the machines an installer runs from (Yardstick's Jumpserver, kolla's
#: [deployment] host), which run none of the cloud's services
INSTALLER_ROLES = {"jumpserver", "deployment"}


def installer_host(node) -> bool:
    return bool(node.roles) and set(node.roles) <= INSTALLER_ROLES


def _ask(pool: ShellPool, node_name: str, timeout: float) -> NodeFacts:
    shell = pool.get(node_name)
    facts = gather(shell, timeout)
    for way in ways():
        way.gather(shell, facts)
    return facts


def _group(name: str, findings: list[Finding]) -> tuple[DiscoveredService | None, list[str]]:
    """One service entry from a service's findings on its nodes: the control most nodes
    share; nodes controlled another way are said, not silently merged."""
    if not findings:
        return None, []
    counts = Counter(tuple(sorted(f.control.items())) for f in findings)
    control = dict(counts.most_common(1)[0][0])
    chosen = [f for f in findings if f.control == control]
    others = [f for f in findings if f.control != control]
    notes = [f"service {name} on {f.node} runs another way ({f.source}); not in the entry"
             for f in others]
    sources = Counter(f.source.split(" (")[0] for f in chosen)
    source = "; ".join(f"{s} on {', '.join(f.node for f in chosen if f.source.startswith(s))}"
                       for s in sources)
    return DiscoveredService(name, [f.node for f in chosen], chosen[0].way, control, "", None,
                             source, {f.node: f.running for f in chosen}), notes


def discover(inventory: Inventory, *, catalog: Catalog | None = None,
             globals_file: str | Path | None = None, openrc: str | Path | None = None,
             endpoints: bool = True, pool: ShellPool | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> Discovery:
    """Ask every node of the inventory over its transport (SSH, host keys verified),
    each command given ``timeout`` seconds."""
    catalog = catalog or load_catalog()
    result = Discovery()
    own_pool = pool is None
    pool = pool or ShellPool(inventory)
    facts: list[NodeFacts] = []
    asked = [n for n in inventory.nodes if not installer_host(n)]
    for node in inventory.nodes:
        if installer_host(node):
            result.notes.append(f"node {node.name} not asked: the installer's own machine "
                                f"(role {', '.join(node.roles)}), not a node of the cloud")
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(asked)))) as threads:
            futures = {n.name: threads.submit(_ask, pool, n.name, timeout) for n in asked}
            for name, future in futures.items():
                try:
                    facts.append(future.result())
                except HaTestsError as exc:
                    result.unreachable[name] = str(exc)
    finally:
        if own_pool:
            pool.close()
    for name, entry in catalog:
        findings = []
        for node in facts:
            for way in ways():
                found = way.find(name, entry, node)
                if found is not None:
                    findings.append(found)
                    break
        service, notes = _group(name, findings)
        if service is not None:
            service.process, service.port = entry.process, entry.port
            result.services[name] = service
        result.notes += notes
    globals_data = kolla.load_globals(globals_file) if globals_file else None
    node_addresses = {n.address for n in inventory.nodes}
    result.vips = find_vips(facts, node_addresses, globals_data,
                            str(globals_file or "globals.yml"))
    for node in inventory.nodes:
        if node.roles:
            result.roles[node.name] = (list(node.roles), "the inventory's groups")
            continue
        running = {s for s, d in result.services.items() if node.name in d.nodes}
        roles = sorted({catalog[s].role for s in running if catalog[s].role})
        result.roles[node.name] = (roles, "what runs there: " + (", ".join(sorted(running))
                                                               or "nothing known"))
    result.interfaces = management_interfaces(inventory, facts)
    _credentials(inventory, openrc, result)
    if endpoints and (result.auth or inventory.auth or inventory.cloud):
        try:
            with_auth = inventory if not result.auth else \
                inventory.model_copy(update={"auth": _auth_model(result.auth)})
            result.endpoints = catalog_endpoints(with_auth)
        except Exception as exc:  # noqa: BLE001 - openstacksdk's errors have no common base
            result.notes.append(f"Keystone's catalog not read: {type(exc).__name__}: "
                                f"{str(exc)[:200]}")
    return result


def management_interfaces(inventory: Inventory, facts: list[NodeFacts]
                          ) -> dict[str, tuple[str, str]]:
    """Each node's ``mgmt`` interface (the one network scenarios cut), where the inventory
    names none: the interface that holds the address the node is reached at."""
    by_node = {f.node: f for f in facts}
    found = {}
    for node in inventory.nodes:
        asked = by_node.get(node.name)
        if "mgmt" in node.interfaces or asked is None:
            continue
        interface = asked.addresses.get(node.address)
        if interface:
            found[node.name] = (interface, f"the interface holding {node.address}")
    return found


def _auth_model(auth: dict):
    from ha_tests.inventory import CloudAuth

    return CloudAuth(**auth)


def _credentials(inventory: Inventory, openrc, result: Discovery) -> None:
    if inventory.auth or inventory.cloud:
        return
    if openrc:
        result.auth = kolla.auth_from_env(kolla.load_openrc(openrc))
        result.auth_source = str(openrc)
    if result.auth is None:
        result.auth = kolla.auth_from_env(dict(os.environ))
        result.auth_source = "OS_* environment variables" if result.auth else None
