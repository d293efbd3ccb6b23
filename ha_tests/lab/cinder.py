"""Cinder for the full lab profile: an active/active and an active/passive volume backend.

cinder-api (under gunicorn) and cinder-scheduler run on the three controllers. Two backends
let the two HA models be compared side by side (gap-4):

* ``lab-aa``: cinder-volume on ctl1 and ctl2 as one active/active cluster (``cluster =
  lab-aa``, tooz coordination through lock files on the lab's shared disk, which a dead
  process releases), with the A/A-capable fake driver that Cinder ships;
* ``lab-ap``: one cinder-volume on ctl3 serving its backend under a fixed ``backend_host``,
  the active/passive model: when it dies, that backend waits for it to come back.

Both use ``ha_tests.lab.cinder_backend.LabVolumeDriver`` (Cinder's fake A/A driver, which
also reports multi-attach so a multi-attach volume type can be scheduled). Volumes exist in
the database only: there is no block I/O (docs/lab.rst).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ha_tests.lab import mariadb, rabbitmq
from ha_tests.lab.openstack import (
    Secrets,
    after_schema,
    keystone_authtoken,
    python_env,
    service_auth_section,
    venv_bin,
    venv_etc,
    wsgi_service,
)
from ha_tests.lab.plan import (
    CINDER_API_PORT,
    SERVICE_DOWN_TIME,
    SERVICE_REPORT_INTERVAL,
    LabPlan,
    NodePlan,
)
from ha_tests.lab.system import run, write_secret

AA_CLUSTER = "lab-aa"
AP_BACKEND_HOST = "lab-ap"
PROCESS_REGEXES = {
    "cinder-api": r"^cinder-api ",
    "cinder-scheduler": r"(^|/)cinder-scheduler[: ]",
    "cinder-volume": r"(^|/)cinder-volume[: ]",
}
VOLUME_TYPES = {"lab-aa": {"volume_backend_name": "lab-aa"},
                "lab-ap": {"volume_backend_name": "lab-ap"},
                "multiattach": {"volume_backend_name": "lab-aa",
                                "multiattach": "<is> True"}}


def aa_members(plan: LabPlan) -> list[NodePlan]:
    return plan.controllers[:2]


def ap_node(plan: LabPlan) -> NodePlan:
    return plan.controllers[2]


def config_dir(plan: LabPlan, node: NodePlan | None) -> Path:
    return plan.dir / "cinder" if node is None else plan.node_dir(node.name) / "cinder"


def config(plan: LabPlan, node: NodePlan | None, secrets: Secrets) -> str:
    state = config_dir(plan, node) / "state"
    head = f"host = {node.name}\nmy_ip = {node.mgmt_ip}\n" if node else ""
    backends = ""
    if node is not None and node in aa_members(plan):
        head += f"cluster = {AA_CLUSTER}\nenabled_backends = aa\n"
        backends = _backend("aa", "lab-aa")
    elif node is not None and node == ap_node(plan):
        head += "enabled_backends = ap\n"
        backends = _backend("ap", "lab-ap", f"backend_host = {AP_BACKEND_HOST}\n")
    paste = venv_etc("cinder") / "api-paste.ini"
    listen = (f"osapi_volume_listen = {node.mgmt_ip}\nosapi_volume_listen_port = "
              f"{CINDER_API_PORT}\n" if node is not None else "")
    nova_section = service_auth_section("nova", plan, secrets.service, "cinder",
                                        "interface = public\n")
    return f"""\
# Cinder of {node.name if node else 'the lab host'} in lab {plan.name}, written by ha-tests lab
[DEFAULT]
{head}{listen}transport_url = {rabbitmq.transport_url(plan, secrets.bus)}
state_path = {state}
use_stderr = true
debug = false
auth_strategy = keystone
osapi_volume_workers = 1
api_paste_config = {paste}
default_volume_type = lab-aa
report_interval = {SERVICE_REPORT_INTERVAL}
service_down_time = {SERVICE_DOWN_TIME}

[database]
connection = {mariadb.url(plan, secrets.database, "cinder")}
max_pool_size = 5

[coordination]
backend_url = file://{plan.dir / "cinder" / "coordination"}

[oslo_concurrency]
lock_path = {state}/locks

[oslo_messaging_notifications]
driver = messagingv2

{rabbitmq.oslo_messaging_section(plan, node)}
{keystone_authtoken(plan, secrets.service, "cinder")}
{nova_section}
{backends}"""


def _backend(section: str, name: str, extra: str = "") -> str:
    return f"""
[{section}]
volume_driver = ha_tests.lab.cinder_backend.LabVolumeDriver
volume_backend_name = {name}
{extra}"""


def write_configs(plan: LabPlan, secrets: Secrets) -> None:
    (plan.dir / "cinder" / "coordination").mkdir(parents=True, exist_ok=True)
    for node in (None, *plan.controllers):
        directory = config_dir(plan, node)
        (directory / "state" / "locks").mkdir(parents=True, exist_ok=True)
        write_secret(directory / "cinder.conf", config(plan, node, secrets))


def _console(plan: LabPlan, name: str, node: NodePlan) -> dict:
    script = venv_bin(name)
    conf = config_dir(plan, node) / "cinder.conf"
    return {"name": name, **after_schema(plan, [sys.executable, script, "--config-file",
                                                str(conf)]),
            "env": python_env()}


def services(plan: LabPlan, node: NodePlan) -> list[dict]:
    if not node.is_controller:
        return []
    found = [wsgi_service(plan, "cinder-api", "cinder-api",
                          f"{node.mgmt_ip}:{CINDER_API_PORT}",
                          {"HA_TESTS_LAB_CONFIG_FILE": str(config_dir(plan, node)
                                                           / "cinder.conf")}),
             _console(plan, "cinder-scheduler", node)]
    if node in aa_members(plan) or node == ap_node(plan):
        found.append(_console(plan, "cinder-volume", node))
    return found


def create_schema(plan: LabPlan) -> None:
    run([venv_bin("cinder-manage"), "--config-file",
         str(config_dir(plan, None) / "cinder.conf"), "db", "sync"], timeout=600)


def create_volume_types(cloud) -> None:
    """The backends' volume types (after the schema; through the API, as an operator)."""
    existing = {t.name for t in cloud.block_storage.types()}
    for name, specs in VOLUME_TYPES.items():
        if name not in existing:
            cloud.block_storage.create_type(name=name, extra_specs=specs)
