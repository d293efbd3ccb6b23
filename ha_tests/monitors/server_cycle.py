"""server-cycle: boot a server and delete it, each sample, as a tenant's workload does.

Listing servers only proves nova-api answers; a boot goes through nova-api, the conductor,
the scheduler (and Placement), the bus and a nova-compute, so it is the probe that a dead
nova-scheduler, nova-conductor or broker can hurt. Each sample boots a server from
``image`` with ``flavor`` (on ``network``, or with no network: ``networks: none``), waits for
``ACTIVE`` (or ``ERROR``) within the probe's timeout, then asks for its deletion. ok when the
server became ACTIVE in time; the detail has the host that took it, the seconds it took and
the fault if it failed.

Servers are named ``ha-tests-<monitor>-<n>``; any a failed sample left behind is deleted at
teardown (waiting up to ``cleanup_timeout``).

Example (the lab's full profile; on a cloud, its own image, flavor and network)::

    - type: server-cycle
      name: server-boot-delete
      image: lab-guest
      flavor: lab.tiny
      interval: 2
      timeout: 30
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ha_tests.errors import PreflightError
from ha_tests.monitors.api import describe_error, preflight_error
from ha_tests.monitors.lifecycle import ResourceCycleMonitor
from ha_tests.validation import StrictModel


class ServerCycleParams(StrictModel):
    image: str = Field(description="image name or ID to boot from")
    flavor: str = Field(description="flavor name or ID")
    network: str | None = Field(None, description="network name or ID (default: none, as "
                                                  "with 'openstack server create --nic none')")
    cleanup_timeout: float = Field(120.0, ge=0, le=1800,
                                   description="seconds teardown waits to delete leftovers")


class ServerCycleMonitor(ResourceCycleMonitor):
    Params = ServerCycleParams
    kind, ready, failed = "server", "ACTIVE", "ERROR"

    def prepare(self) -> None:
        try:
            image = self.conn.image.find_image(self.params.image)
            flavor = self.conn.compute.find_flavor(self.params.flavor)
            network = (self.conn.network.find_network(self.params.network)
                       if self.params.network else None)
        except Exception as exc:
            raise preflight_error(f"{self.name}: cannot read images, flavors or networks: "
                                  + describe_error(exc, self.secrets)["error"], exc) from None
        for what, found, name in (("image", image, self.params.image),
                                  ("flavor", flavor, self.params.flavor),
                                  ("network", network if self.params.network else True,
                                   self.params.network)):
            if found is None:
                raise PreflightError(f"{self.name}: no {what} '{name}' in the cloud")
        self.image_id, self.flavor_id = image.id, flavor.id
        self.networks: Any = [{"uuid": network.id}] if network is not None else "none"

    def create(self, name: str) -> Any:
        return self.conn.compute.create_server(name=name, image_id=self.image_id,
                                               flavor_id=self.flavor_id,
                                               networks=self.networks)

    def fetch(self, resource_id: str) -> Any:
        return self.conn.compute.get_server(resource_id)

    def delete(self, resource_id: str) -> None:
        self.conn.compute.delete_server(resource_id, ignore_missing=True)

    def facts(self, resource: Any, took: float, ready: bool) -> dict[str, Any]:
        found: dict[str, Any] = {"host": getattr(resource, "compute_host", None),
                                 "seconds_to_active": round(took, 3) if ready else None}
        fault = (getattr(resource, "fault", None) or {}).get("message")
        if not ready and fault:
            found["error"] = fault[:300]
        return found

    def describe(self) -> str:
        return (f"{self.name}: boot and delete a server ({self.params.image}, "
                f"{self.params.flavor}) each sample")
