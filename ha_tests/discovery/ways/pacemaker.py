"""Services Pacemaker runs: primitives, clones and bundles (TripleO's HAProxy, Galera and
RabbitMQ), read from ``crm_mon``'s XML; ``pcs resource disable|enable`` controls them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ha_tests.discovery.catalog import CatalogEntry
from ha_tests.discovery.facts import NodeFacts
from ha_tests.discovery.ways.base import Finding, Way


def placements(crm_mon_xml: str) -> dict[str, dict[str, bool]]:
    """{resource, clone or bundle id: {node name: active}} from ``crm_mon`` XML."""
    found: dict[str, dict[str, bool]] = {}
    if not crm_mon_xml.strip():
        return found
    try:
        root = ET.fromstring(crm_mon_xml)
    except ET.ParseError:
        return found
    resources = root.find("resources")
    if resources is None:
        return found

    def record(ids: list[str], element: ET.Element) -> None:
        active = element.get("active") == "true" and element.get("role") in (
            "Started", "Master", "Promoted", "Slave", "Unpromoted", None)
        for node in element.findall("node"):
            for rid in ids:
                place = found.setdefault(rid, {})
                place[node.get("name", "")] = place.get(node.get("name", ""), False) or active

    def walk(element: ET.Element, outer: list[str]) -> None:
        for child in element:
            if child.tag == "resource":
                record(outer + [child.get("id", "")], child)
            elif child.tag in ("clone", "group", "bundle"):
                walk(child, outer + [child.get("id", "")])
            elif child.tag == "replica":
                walk(child, outer)

    walk(resources, [])
    return found


class PacemakerWay(Way):
    name = "pacemaker"
    rank = 10

    def find(self, service: str, entry: CatalogEntry, facts: NodeFacts) -> Finding | None:
        places = placements(facts.crm_mon)
        here = {facts.hostname, facts.node}
        for rid in entry.pacemaker:
            nodes = places.get(rid)
            if not nodes:
                continue
            active = [n for n in here if n in nodes]
            if active:
                running = any(nodes[n] for n in active)
                return self.finding(service, facts, running,
                                    f"pacemaker resource {rid} (crm_mon: "
                                    f"{'active' if running else 'inactive'} here)",
                                    manager="pacemaker", resource=rid)
        return None
