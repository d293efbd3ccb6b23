"""API endpoints, from Keystone's own catalog, when credentials are at hand."""

from __future__ import annotations

from dataclasses import dataclass

from ha_tests.inventory import Inventory


@dataclass(frozen=True)
class Endpoint:
    service: str  # the catalog's type: identity, compute, ...
    name: str
    interface: str
    url: str
    region: str | None


def catalog_endpoints(inventory: Inventory) -> list[Endpoint]:
    """Every endpoint of the catalog, read with the inventory's credentials (``auth:`` or
    ``cloud:``/``clouds_yaml:``). Raises whatever openstacksdk raises when the cloud refuses."""
    from ha_tests.context import RunContext

    ctx = RunContext(inventory)
    try:
        conn = ctx.cloud()
        services = {s.id: s for s in conn.identity.services()}
        found = []
        for endpoint in conn.identity.endpoints():
            service = services.get(endpoint.service_id)
            found.append(Endpoint(getattr(service, "type", "?"), getattr(service, "name", "?"),
                                  endpoint.interface, endpoint.url, endpoint.region_id))
        return sorted(found, key=lambda e: (e.service, e.interface, e.url))
    finally:
        ctx.close()
