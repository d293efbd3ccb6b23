"""The full profile's part of ``lab up``: what it adds to the nodes, and its set-up steps.

Order, as a deployment tool would do it: configs before the nodes boot; on boot RabbitMQ
(and the lab's Galera cluster, which every profile has: ``mariadb.py``) start at once while
the OpenStack services wait for the schemas (``openstack.after_schema``); the lab host then
creates the schemas through the VIP, registers users and endpoints in Keystone, and lets
the services start; ``lab up`` returns when every nova-compute has reported up and is
mapped to the cell.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from ha_tests.lab import catalog, cinder, glance, mariadb, nova, placement, rabbitmq, workload
from ha_tests.lab.openstack import Secrets, schema_marker, wsgi_service
from ha_tests.lab.plan import MARIADB_PORT, NETWORK_PORT, LabPlan, NodePlan
from ha_tests.lab.system import LabError, wait_until

#: lab up waits this long for the compute plane after Keystone answers
COMPUTE_TIMEOUT = 300.0


def prepare(plan: LabPlan) -> Secrets:
    """Configs and data directories, before any node boots."""
    secrets = Secrets.load(plan)
    schema_marker(plan).unlink(missing_ok=True)
    for node in plan.controllers:
        rabbitmq.prepare(plan, node, secrets.bus)
    placement.write_configs(plan, secrets)
    nova.write_configs(plan, secrets)
    cinder.write_configs(plan, secrets)
    glance.write_configs(plan, secrets)
    return secrets


def services(plan: LabPlan, node: NodePlan) -> list[dict]:
    """The full profile's services of a node, in boot order."""
    if not node.is_controller:
        return nova.services(plan, node)
    found = [rabbitmq.service(plan, node)]
    found.append(placement.service(plan, node))
    found += nova.services(plan, node)
    found += cinder.services(plan, node)
    found += glance.services(plan, node)
    found.append(wsgi_service(plan, "network-api", "network-api",
                              f"{node.mgmt_ip}:{NETWORK_PORT}", {}))
    return found


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def set_up(plan: LabPlan, admin_password: str, secrets: Secrets, pool,
           step: Callable[[str], None]) -> list[dict]:
    """Schemas, catalog, the compute and volume services, then the workload the gap
    scenarios watch; the workload's guests ({name, host, address}). Keystone must answer."""
    if not wait_until(lambda: _port_open(plan.vip, MARIADB_PORT), timeout=120, interval=0.5):
        raise LabError(f"MariaDB does not answer through the VIP {plan.vip}:{MARIADB_PORT}; "
                       f"see {plan.node_dir(mariadb.node(plan).name)}/log/")
    step("MariaDB answers through the VIP")
    jobs = [pool.submit(placement.create_schema, plan),
            pool.submit(nova.create_schemas, plan, secrets),
            pool.submit(cinder.create_schema, plan),
            pool.submit(glance.create_schema, plan),
            pool.submit(catalog.register, plan, admin_password, secrets)]
    for job in jobs:
        job.result()
    schema_marker(plan).touch()
    step("schemas created (placement, nova_api, nova_cell0, nova, cinder, glance), users and "
         "endpoints registered; OpenStack services starting")
    cloud = connect(plan, admin_password)
    try:
        wait_for_services(plan, cloud, step)
        image = glance.register_image(cloud)
        step(f"glance: image {image.name} active ({image.size} bytes in the shared file store)")
        return workload.create(plan, cloud, step)
    finally:
        cloud.close()


def connect(plan: LabPlan, admin_password: str):
    import openstack

    from ha_tests.lab.plan import ADMIN_USER, REGION

    return openstack.connect(auth_url=plan.auth_url, username=ADMIN_USER,
                             password=admin_password, project_name="admin",
                             user_domain_id="default", project_domain_id="default",
                             region_name=REGION, load_yaml_config=False, load_envvars=False,
                             api_timeout=30)


def wait_for_services(plan: LabPlan, cloud, step) -> None:
    wanted = {n.name for n in plan.computes}
    volumes = {f"{n.name}@aa" for n in cinder.aa_members(plan)} | {
        f"{cinder.AP_BACKEND_HOST}@ap"}

    def computes_ready():
        try:
            up = {s.host for s in cloud.compute.services(binary="nova-compute")
                  if s.state == "up" and s.status == "enabled"}
            mapped = {h.name for h in cloud.compute.hypervisors()}
        except Exception:  # the APIs are still starting: retried until the deadline
            return False
        return wanted <= up and wanted <= mapped

    def volumes_ready():
        try:
            up = {s.host for s in cloud.block_storage.services(binary="cinder-volume")
                  if s.state == "up" and s.status == "enabled"}
        except Exception:  # the API is still starting
            return False
        return volumes <= up

    started = time.monotonic()
    if not wait_until(computes_ready, timeout=COMPUTE_TIMEOUT, interval=2):
        raise LabError(f"nova-compute of {', '.join(sorted(wanted))} did not come up within "
                       f"{COMPUTE_TIMEOUT:.0f} s; see {plan.dir}/nodes/*/log/nova-*.log")
    step(f"nova: {len(wanted)} computes up and mapped to cell1 "
         f"({time.monotonic() - started:.0f} s after the schemas)")
    if not wait_until(volumes_ready, timeout=COMPUTE_TIMEOUT, interval=2):
        raise LabError(f"cinder-volume of {', '.join(sorted(volumes))} did not come up; see "
                       f"{plan.dir}/nodes/ctl*/log/cinder-*.log")
    cinder.create_volume_types(cloud)
    step(f"cinder: volume services {', '.join(sorted(volumes))} up; volume types "
         f"{', '.join(cinder.VOLUME_TYPES)}")
