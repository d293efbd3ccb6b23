"""HAProxy on each controller: Keystone on the VIP, balanced over the three controllers, and
the Galera cluster on the VIP, one member at a time.

HTTP health checks (``option httpchk``) take a dead Keystone out of the pool within about a
second and a half; meanwhile ``redispatch 1`` retries a refused connection on another server
at once (plain ``redispatch`` would first retry the dead one, a second apart). A Keystone
that comes back gets its share of requests over ``slowstart`` seconds: a freshly started
worker is slow on its first requests. Each response carries ``X-Lab-Backend`` (the server
that answered) and ``X-Lab-Balancer`` (the controller whose HAProxy forwarded it) so tests
can see who serves, from outside. HAProxy runs in the foreground (``-db``) with no pid file:
nodes share one filesystem.
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab import mariadb
from ha_tests.lab.plan import (
    CINDER_API_PORT,
    IMAGE_PORT,
    KEYSTONE_PORT,
    MARIADB_PORT,
    NETWORK_PORT,
    NOVA_API_PORT,
    PLACEMENT_PORT,
    LabPlan,
    NodePlan,
)

#: the full profile's HTTP APIs on the VIP: (section, port)
FULL_HTTP_APIS = (("nova_api", NOVA_API_PORT), ("placement_api", PLACEMENT_PORT),
                  ("cinder_api", CINDER_API_PORT), ("network_standin", NETWORK_PORT),
                  ("glance_api", IMAGE_PORT))

HAPROXY = "/usr/sbin/haproxy"
PROCESS_REGEX = r"^/usr/sbin/haproxy "


def config(plan: LabPlan, node: NodePlan, node_dir: Path) -> str:
    servers = "\n".join(
        f"    server {c.name} {c.mgmt_ip}:{KEYSTONE_PORT} check" for c in plan.controllers)
    return f"""\
# HAProxy of {node.name} in lab {plan.name}, written by ha-tests lab
global
    maxconn 512
    log stderr format short local0 notice
    stats socket {node_dir}/run/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option redispatch 1
    retries 3
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout check 2s

frontend keystone_public
    bind {plan.vip}:{KEYSTONE_PORT}
    default_backend keystone_public
    http-response set-header X-Lab-Balancer {node.name}

backend keystone_public
    balance roundrobin
    option httpchk GET /v3
    http-check expect status 200
    default-server inter 1s fastinter 250ms downinter 1s fall 2 rise 2 slowstart 10s
    http-response set-header X-Lab-Backend %s
{servers}
""" + database_section(plan) + (full_sections(plan) if plan.full else "")


def database_section(plan: LabPlan) -> str:
    """The Galera cluster on the VIP, in every profile: every connection to the first
    member while it is up, the others backups (writes on one node never conflict). When it
    fails its connections are cut and all go to the first backup together; when it is back
    the backup's are cut so that everyone returns together. The check asks the member's
    clustercheck (HTTP) whether it is synced: one that listens but is not (partitioned,
    joining) refuses every query."""
    first, *backups = mariadb.members(plan)
    check_port = mariadb.CLUSTERCHECK_PORT
    servers = "\n".join(
        [f"    server {first.name} {first.mgmt_ip}:{MARIADB_PORT} check "
         "on-marked-up shutdown-backup-sessions"]
        + [f"    server {c.name} {c.mgmt_ip}:{MARIADB_PORT} check backup" for c in backups])
    return f"""
listen mariadb
    bind {plan.vip}:{MARIADB_PORT}
    mode tcp
    option tcplog
    option httpchk GET /
    http-check expect status 200
    timeout client 1h
    timeout server 1h
    default-server port {check_port} inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


def full_sections(plan: LabPlan) -> str:
    """The full profile's APIs (HTTP, like Keystone). Not its bus: the services reach the
    RabbitMQ cluster's brokers directly (``rabbitmq.transport_url``)."""
    text = ""
    for section, port in FULL_HTTP_APIS:
        servers = "\n".join(f"    server {c.name} {c.mgmt_ip}:{port} check"
                             for c in plan.controllers)
        text += f"""
listen {section}
    bind {plan.vip}:{port}
    option httpchk GET /
    http-check expect status 200-399
    default-server inter 1s fastinter 250ms downinter 1s fall 2 rise 2 slowstart 10s
{servers}
"""
    return text


def service(node_dir: Path) -> dict:
    return {"name": "haproxy", "path": HAPROXY,
            "argv": [HAPROXY, "-db", "-f", str(node_dir / "haproxy.cfg")]}
