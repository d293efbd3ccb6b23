"""memcached on each controller: Keystone's cache, shared by the three Keystones.

As deployments have it (kolla, TripleO): one memcached per controller, every Keystone
listing all three, so a key lives on one of them and every Keystone finds it there. A token
revoked through one controller is then refused by all at once, and a controller that dies
takes a third of the cache with it (its keys are re-read from the database).
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab.plan import MEMCACHED_PORT, LabPlan, NodePlan
from ha_tests.lab.system import LabError

MEMCACHED = "/usr/bin/memcached"
PROCESS_REGEX = r"^/usr/bin/memcached "


def servers(plan: LabPlan) -> list[str]:
    """``address:port`` of every controller's memcached, as oslo.cache lists them."""
    return [f"{c.mgmt_ip}:{MEMCACHED_PORT}" for c in plan.controllers]


def service(host: NodePlan) -> dict:
    if not Path(MEMCACHED).exists():
        raise LabError(f"{MEMCACHED} is missing: the lab's Keystone caches in memcached "
                       "(./bootstrap.sh setup installs Debian's memcached)")
    return {"name": "memcached", "path": MEMCACHED,
            "argv": [MEMCACHED, "-u", "root", "-l", host.mgmt_ip, "-p", str(MEMCACHED_PORT),
                     "-U", "0", "-m", "32", "-c", "1024"]}
