"""Placement for the full lab profile: active/active on the controllers behind HAProxy.

Nova's scheduler asks it for hosts and nova-compute reports each compute's inventory to it;
its database is ``placement`` in the lab's MariaDB.
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab import mariadb
from ha_tests.lab.openstack import Secrets, keystone_authtoken, venv_bin, wsgi_service
from ha_tests.lab.plan import PLACEMENT_PORT, LabPlan, NodePlan
from ha_tests.lab.system import run, write_secret

PROCESS_REGEX = r"^placement-api "


def config_dir(plan: LabPlan, node: NodePlan | None) -> Path:
    return plan.dir / "placement" if node is None else plan.node_dir(node.name) / "placement"


def config(plan: LabPlan, secrets: Secrets) -> str:
    return f"""\
# Placement of lab {plan.name}, written by ha-tests lab
[DEFAULT]
use_stderr = true
debug = false

[api]
auth_strategy = keystone

[placement_database]
connection = {mariadb.url(plan, secrets.database, "placement")}
max_pool_size = 5

{keystone_authtoken(plan, secrets.service, "placement")}"""


def write_configs(plan: LabPlan, secrets: Secrets) -> None:
    for node in (None, *plan.controllers):
        directory = config_dir(plan, node)
        directory.mkdir(parents=True, exist_ok=True)
        write_secret(directory / "placement.conf", config(plan, secrets))


def service(plan: LabPlan, node: NodePlan) -> dict:
    return wsgi_service(plan, "placement-api", "placement-api",
                        f"{node.mgmt_ip}:{PLACEMENT_PORT}",
                        {"OS_PLACEMENT_CONFIG_DIR": str(config_dir(plan, node))})


def create_schema(plan: LabPlan) -> None:
    run([venv_bin("placement-manage"), "--config-file",
         str(config_dir(plan, None) / "placement.conf"), "db", "sync"], timeout=600)
