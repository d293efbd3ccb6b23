"""The full profile's tenant workload: what the compute and storage gap scenarios watch.

A deployment's validation creates some load to observe; so does the lab: one server per
compute node (``lab-vm-<compute>``, pinned there, booted from Glance's ``lab-guest``) and one
multi-attach volume (``lab-shared``) attached to all of them (gap-5: lose one compute, the
other server keeps its attachment). The servers' addresses go into the inventory's VM list.
"""

from __future__ import annotations

from collections.abc import Callable

from ha_tests.lab.glance import IMAGE_NAME
from ha_tests.lab.plan import LabPlan

FLAVOR = "lab.tiny"
SHARED_VOLUME = "lab-shared"
MULTIATTACH_TYPE = "multiattach"
TIMEOUT = 180


def server_name(compute: str) -> str:
    return f"lab-vm-{compute}"


def create(plan: LabPlan, cloud, step: Callable[[str], None]) -> list[dict]:
    """Create what is missing; the servers as inventory VMs ({name, host, address})."""
    flavor = cloud.compute.find_flavor(FLAVOR) or cloud.compute.create_flavor(
        name=FLAVOR, vcpus=1, ram=64, disk=0)
    image = cloud.image.find_image(IMAGE_NAME)
    servers = []
    for node in plan.computes:
        server = cloud.compute.find_server(server_name(node.name))
        if server is None:
            server = cloud.compute.create_server(
                name=server_name(node.name), image_id=image.id, flavor_id=flavor.id,
                networks="none", availability_zone=f"nova:{node.name}")
        servers.append(server)
    servers = [cloud.compute.wait_for_server(s, status="ACTIVE", wait=TIMEOUT)
               for s in servers]
    volume = cloud.block_storage.find_volume(SHARED_VOLUME)
    if volume is None:
        volume = cloud.block_storage.create_volume(name=SHARED_VOLUME, size=1,
                                                   volume_type=MULTIATTACH_TYPE)
    volume = cloud.block_storage.wait_for_status(volume, "available", failures=["error"],
                                                 wait=TIMEOUT) \
        if volume.status not in ("available", "in-use") else volume
    from ha_tests.lab.system import LabError, wait_until

    def attached_to(server_id: str) -> bool:
        current = cloud.block_storage.get_volume(volume.id)
        return current.status == "in-use" and server_id in {
            a["server_id"] for a in (current.attachments or [])}

    for server in servers:
        # one at a time: Cinder refuses a second reservation while the first is in progress
        if not attached_to(server.id):
            # openstacksdk negotiates the microversion (multi-attach needs 2.60 or later)
            cloud.compute.create_volume_attachment(server, volume=volume)
            if not wait_until(lambda s=server: attached_to(s.id), timeout=TIMEOUT,
                              interval=0.5):
                raise LabError(f"volume {SHARED_VOLUME} did not get attached to {server.name}")
    step(f"workload: servers {', '.join(s.name for s in servers)} and multi-attach volume "
         f"{SHARED_VOLUME} attached to all of them")
    return [{"name": s.name, "host": s.compute_host, "address": s.metadata["lab_address"]}
            for s in servers]
