"""HAProxy on each controller: Keystone on the VIP, balanced over the three controllers.

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

from ha_tests.lab.plan import KEYSTONE_PORT, LabPlan, NodePlan

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
"""


def service(node_dir: Path) -> dict:
    return {"name": "haproxy", "path": HAPROXY,
            "argv": [HAPROXY, "-db", "-f", str(node_dir / "haproxy.cfg")]}
