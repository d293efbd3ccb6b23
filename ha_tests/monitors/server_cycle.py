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

import itertools
import logging
import time
from typing import Any

from pydantic import Field

from ha_tests.errors import PreflightError
from ha_tests.monitors.api import describe_error, open_connection, secrets_of
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel

LOG = logging.getLogger(__name__)
POLL = 0.25


class ServerCycleParams(StrictModel):
    image: str = Field(description="image name or ID to boot from")
    flavor: str = Field(description="flavor name or ID")
    network: str | None = Field(None, description="network name or ID (default: none, as "
                                                  "with 'openstack server create --nic none')")
    cleanup_timeout: float = Field(120.0, ge=0, le=1800,
                                   description="seconds teardown waits to delete leftovers")


class ServerCycleMonitor(Monitor):
    Params = ServerCycleParams

    def setup(self) -> None:
        self.conn = open_connection(self.ctx, self.timeout)
        self.secrets = secrets_of(self.conn)
        self.counter = itertools.count(1)
        self.leftovers: dict[str, str] = {}
        try:
            image = self.conn.image.find_image(self.params.image)
            flavor = self.conn.compute.find_flavor(self.params.flavor)
            network = (self.conn.network.find_network(self.params.network)
                       if self.params.network else None)
        except Exception as exc:
            raise PreflightError(f"{self.name}: cannot read images, flavors or networks: "
                                 + describe_error(exc, self.secrets)["error"]) from None
        for what, found, name in (("image", image, self.params.image),
                                  ("flavor", flavor, self.params.flavor),
                                  ("network", network if self.params.network else True,
                                   self.params.network)):
            if found is None:
                raise PreflightError(f"{self.name}: no {what} '{name}' in the cloud")
        self.image_id, self.flavor_id = image.id, flavor.id
        self.networks: Any = [{"uuid": network.id}] if network is not None else "none"

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        deadline = started + self.timeout * 0.85
        name = f"ha-tests-{self.name}-{next(self.counter)}"
        detail: dict[str, Any] = {"server": name}
        try:
            server = self.conn.compute.create_server(
                name=name, image_id=self.image_id, flavor_id=self.flavor_id,
                networks=self.networks)
        except Exception as exc:
            detail.update(describe_error(exc, self.secrets), stage="create")
            return ProbeResult(False, time.monotonic() - started, detail)
        self.leftovers[server.id] = name
        status = server.status
        try:
            while status not in ("ACTIVE", "ERROR") and time.monotonic() < deadline:
                time.sleep(POLL)
                server = self.conn.compute.get_server(server.id)
                status = server.status
        except Exception as exc:
            detail.update(describe_error(exc, self.secrets), stage="wait")
            return ProbeResult(False, time.monotonic() - started, detail)
        took = time.monotonic() - started
        detail.update(status=status, host=getattr(server, "compute_host", None),
                      seconds_to_active=round(took, 3) if status == "ACTIVE" else None)
        if status != "ACTIVE":
            fault = (getattr(server, "fault", None) or {}).get("message")
            detail["error"] = (fault or f"{status}")[:300] if status == "ERROR" else \
                f"still {status} after {took:.1f} s"
        self._delete(server.id, detail)
        return ProbeResult(status == "ACTIVE", took, detail)

    def _delete(self, server_id: str, detail: dict[str, Any] | None = None) -> bool:
        try:
            self.conn.compute.delete_server(server_id, ignore_missing=True)
        except Exception as exc:  # kept in leftovers: teardown tries again
            if detail is not None:
                detail["delete_error"] = describe_error(exc, self.secrets)["error"]
            return False
        self.leftovers.pop(server_id, None)
        return True

    def teardown(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is None:
            return
        deadline = time.monotonic() + self.params.cleanup_timeout
        while self.leftovers and time.monotonic() < deadline:
            for server_id in list(self.leftovers):
                self._delete(server_id)
            if self.leftovers:
                time.sleep(1)
        if self.leftovers:
            LOG.warning("%s: could not delete servers %s", self.name,
                        ", ".join(sorted(self.leftovers.values())))
        try:
            conn.close()
        except Exception:  # best effort
            pass

    def describe(self) -> str:
        return (f"{self.name}: boot and delete a server ({self.params.image}, "
                f"{self.params.flavor}) each sample")
