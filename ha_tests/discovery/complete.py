"""An inventory completed by discovery: what the user wrote stays, what was missing is
added with where it was found. ``complete_inventory`` is the one call the front doors make."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from ha_tests.discovery.discover import Discovery, discover
from ha_tests.inventory import Inventory
from ha_tests.validation import validate
from ha_tests.yamlsource import SourceMap


@dataclass
class Needs:
    """What scenarios ask of the inventory: service names and VIP names."""

    services: set[str] = field(default_factory=set)
    vips: set[str] = field(default_factory=set)

    def missing(self, inventory: Inventory) -> Needs:
        return Needs({s for s in self.services if s not in inventory.services},
                     {v for v in self.vips if v not in inventory.vips})

    def __bool__(self) -> bool:
        return bool(self.services or self.vips)


def needs_of(scenarios) -> Needs:
    """Services and VIPs the loaded scenarios name (``requires``, targets, attackers)."""
    needs = Needs()
    for scenario in scenarios:
        model = scenario.model
        needs.services |= set(getattr(model, "requires", None) or [])
        for spec in model.targets.values():
            if spec.service:
                needs.services.add(spec.service)
            if spec.pick in ("vip-holder", "not-vip-holder"):
                needs.vips.add(spec.vip)
        for use in scenario.attackers:
            service = getattr(use.params, "service", None)
            if isinstance(service, str):
                needs.services.add(service)
    return needs


def reveal(value):
    """Plain data with secrets as text: for the 0600 inventory file only, never a log."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def merged_data(inventory: Inventory, found: Discovery) -> tuple[dict, dict[str, str]]:
    """(inventory data, {"vips.api" | "nodes.ctl1.roles" | "auth": where found})."""
    data = reveal(dict(inventory.model_dump(exclude_none=True, exclude_defaults=False)))
    data = {k: v for k, v in data.items() if v not in ({}, None) or k == "nodes"}
    sources: dict[str, str] = {}
    services = dict(data.get("services", {}))
    for name, service in found.services.items():
        if name not in services:
            services[name] = service.as_inventory()
    if services:
        data["services"] = services
    vips = dict(data.get("vips", {}))
    for name, vip in found.vips.items():
        if name not in vips and vip.address not in vips.values():
            vips[name] = vip.address
            sources[f"vips.{name}"] = "; ".join(vip.sources)
    if vips:
        data["vips"] = vips
    for node in data["nodes"]:
        roles, source = found.roles.get(node["name"], ([], ""))
        if not node.get("roles") and roles:
            node["roles"] = roles
            sources[f"nodes.{node['name']}.roles"] = source
        interface, where = found.interfaces.get(node["name"], ("", ""))
        if interface and "mgmt" not in (node.get("interfaces") or {}):
            node["interfaces"] = {**(node.get("interfaces") or {}), "mgmt": interface}
            sources[f"nodes.{node['name']}.interfaces"] = where
    if found.auth and "auth" not in data and "cloud" not in data:
        data["auth"] = found.auth
        sources["auth"] = found.auth_source or "credentials given"
    return data, sources


def complete_inventory(inventory: Inventory, needs: Needs | None = None, **options
                       ) -> tuple[Inventory, list[str]]:
    """The inventory with what ``needs`` lacks discovered from the nodes, and what was done
    in words. With nothing missing, nothing is asked; ``options`` go to ``discover``."""
    if needs is not None and not needs.missing(inventory):
        return inventory, []
    found = discover(inventory, endpoints=False, **options)
    data, _ = merged_data(inventory, found)
    completed = validate(Inventory, data, SourceMap(inventory.source_file or "<discovered>"))
    completed._source_file = inventory.source_file
    report = ["discovering what the inventory lacks"
              + (f" ({', '.join(sorted(needs.missing(inventory).services | needs.missing(inventory).vips))})"  # noqa: E501
                 if needs else "") + ":"] + found.lines()
    if needs is not None:
        still = needs.missing(completed)
        if still.services or still.vips:
            report.append("still missing after discovery: "
                          + ", ".join(sorted(still.services | {f"vip {v}" for v in still.vips}))
                          + " (add them to the inventory's services:/vips:, or the catalogue "
                          "with --catalog; docs/discovery.rst)")
    return completed, report
