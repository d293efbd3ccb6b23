"""Virtual IPs, from every place a deployment declares or holds one: keepalived's
``virtual_ipaddress``, Pacemaker's IPaddr2 resources, HAProxy's binds, kolla's
``globals.yml``, and the addresses the nodes hold now."""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ha_tests.discovery.facts import NodeFacts

_VRRP = re.compile(r"vrrp_instance\s+(\S+)\s*\{", re.S)
_VIPS_BLOCK = re.compile(r"virtual_ipaddress\s*\{([^}]*)\}", re.S)
_BIND = re.compile(r"^\s*bind\s+(\[[^\]]+\]|[^\s:]+):(\d+)", re.M)
#: the port of the API a VIP is named "api" after: Keystone's, as every scenario starts there
KEYSTONE_PORT = 5000


@dataclass
class VipCandidate:
    address: str
    sources: list[str] = field(default_factory=list)
    hint: str | None = None  # a name its source gives (keepalived instance, kolla variable)
    ports: set[int] = field(default_factory=set)
    holders: list[str] = field(default_factory=list)


def _address(text: str) -> str | None:
    text = text.strip("[]").split("/")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def keepalived_vips(config: str) -> list[tuple[str, str | None]]:
    """(address, vrrp instance name) of every ``virtual_ipaddress`` in a keepalived.conf."""
    found = []
    config = re.sub(r"#.*", "", config)
    instances = [(m.start(), m.group(1)) for m in _VRRP.finditer(config)]
    for block in _VIPS_BLOCK.finditer(config):
        instance = None
        for start, name in instances:
            if start < block.start():
                instance = name
        for line in block.group(1).splitlines():
            words = line.split()
            address = _address(words[0]) if words else None
            if address:
                found.append((address, instance))
    return found


def haproxy_binds(config: str) -> list[tuple[str, int]]:
    found = []
    for match in _BIND.finditer(re.sub(r"#.*", "", config)):
        address = _address(match.group(1))
        if address and not ipaddress.ip_address(address).is_unspecified:
            found.append((address, int(match.group(2))))
    return found


def ipaddr2_vips(cib_xml: str) -> list[tuple[str, str]]:
    """(address, resource id) of every IPaddr2 primitive in Pacemaker's CIB."""
    if not cib_xml.strip():
        return []
    try:
        root = ET.fromstring(cib_xml)
    except ET.ParseError:
        return []
    found = []
    for primitive in root.iter("primitive"):
        if primitive.get("type") not in ("IPaddr2", "IPaddr"):
            continue
        for pair in primitive.iter("nvpair"):
            if pair.get("name") == "ip" and _address(pair.get("value", "")):
                found.append((_address(pair.get("value", "")), primitive.get("id", "")))
    return found


def kolla_vips(globals_data: dict) -> list[tuple[str, str]]:
    found = []
    for key, name in (("kolla_internal_vip_address", "api"),
                      ("kolla_external_vip_address", "public")):
        address = _address(str(globals_data.get(key) or ""))
        if address:
            found.append((address, name))
    return found


def find_vips(facts: list[NodeFacts], node_addresses: set[str],
              globals_data: dict | None = None, globals_file: str = "globals.yml"
              ) -> dict[str, VipCandidate]:
    """Named VIPs: kolla's names when given; else "api" for the one HAProxy serves Keystone
    on (or the first found), the others by their keepalived instance or Pacemaker id."""
    candidates: dict[str, VipCandidate] = {}

    def add(address: str, source: str, hint: str | None = None) -> VipCandidate:
        candidate = candidates.setdefault(address, VipCandidate(address))
        if source not in candidate.sources:
            candidate.sources.append(source)
        if hint and candidate.hint is None:
            candidate.hint = hint
        return candidate

    for address, name in kolla_vips(globals_data or {}):
        variable = "kolla_internal_vip_address" if name == "api" else \
            "kolla_external_vip_address"
        add(address, f"{globals_file} ({variable})", name)
    for node in facts:
        for path, text in node.configs.get("keepalived", {}).items():
            for address, instance in keepalived_vips(text):
                add(address, f"keepalived {path} on {node.node} (vrrp_instance {instance})",
                    instance)
        for address, resource in ipaddr2_vips(node.cib):
            add(address, f"pacemaker IPaddr2 resource {resource}", resource)
    binds: dict[str, list[tuple[str, int, str]]] = {}
    for node in facts:
        for path, text in node.configs.get("haproxy", {}).items():
            for address, port in haproxy_binds(text):
                binds.setdefault(address, []).append((node.node, port, path))
    for address, where in binds.items():
        if address in node_addresses or ipaddress.ip_address(address).is_loopback:
            continue  # a node's own address is no VIP
        candidate = add(address, f"haproxy binds on {', '.join(sorted({w[0] for w in where}))}")
        candidate.ports |= {port for _, port, _ in where}
    for candidate in candidates.values():
        candidate.holders = sorted(n.node for n in facts if candidate.address in n.addresses)
        if candidate.holders:
            candidate.sources.append(f"held now by {', '.join(candidate.holders)}")
    return _named(list(candidates.values()))


def _named(candidates: list[VipCandidate]) -> dict[str, VipCandidate]:
    named: dict[str, VipCandidate] = {}
    api = next((c for c in candidates if c.hint == "api"), None) or \
        next((c for c in candidates if KEYSTONE_PORT in c.ports), None) or \
        (candidates[0] if candidates else None)
    if api is not None:
        named["api"] = api
    for candidate in candidates:
        if candidate is api:
            continue
        name = re.sub(r"[^A-Za-z0-9_.-]", "-", candidate.hint or "") or \
            "vip-" + candidate.address.replace(".", "-").replace(":", "-")
        while name in named:
            name += "-2"
        named[name] = candidate
    return named
