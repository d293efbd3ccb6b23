"""Nova for the full lab profile.

nova-api (under gunicorn), nova-conductor and nova-scheduler run active/active on the three
controllers, the API behind HAProxy on the VIP; nova-compute runs on every compute node with
the lab's virt driver (``ha_tests.lab.guests``: a guest is a real process and network
namespace). One cell (cell1) besides cell0, all in the lab's MariaDB; the bus is the lab's
RabbitMQ. Versioned notifications go to the bus (topic ``versioned_notifications``), so a
monitor can see ``service.update`` as it happens. The intervals that decide how fast the
cloud notices a failure are the lab's (``report_interval`` 5 s, ``service_down_time`` 30 s,
where Nova's defaults are 10 s and 60 s): set as a deployment sets them, and measured by the
gap-1 scenarios like any other value.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ha_tests.lab import mariadb, rabbitmq
from ha_tests.lab.openstack import (
    Secrets,
    after_schema,
    console_service,
    keystone_authtoken,
    python_env,
    service_auth_section,
    venv_bin,
    venv_etc,
    wsgi_service,
)
from ha_tests.lab.plan import (
    NOVA_API_PORT,
    SERVICE_DOWN_TIME,
    SERVICE_REPORT_INTERVAL,
    LabPlan,
    NodePlan,
)
from ha_tests.lab.system import run

CONTROLLER_SERVICES = ("nova-api", "nova-conductor", "nova-scheduler")
COMPUTE_SERVICES = ("nova-compute",)
PROCESS_REGEXES = {
    "nova-api": r"^nova-api ",
    # oslo.service retitles the processes "nova-conductor: master process [...]" and
    # "nova-conductor: ServiceWrapper worker(0)", as on a packaged controller
    "nova-conductor": r"(^|/)nova-conductor[: ]",
    "nova-scheduler": r"(^|/)nova-scheduler[: ]",
    "nova-compute": r"^nova-compute[: ]",
}


def config_dir(plan: LabPlan, node: NodePlan) -> Path:
    return plan.node_dir(node.name) / "nova"


def host_config_dir(plan: LabPlan) -> Path:
    """Config of the ``nova-manage`` runs on the lab host (no ``host`` of a node)."""
    return plan.dir / "nova"


def config(plan: LabPlan, node: NodePlan | None, secrets: Secrets) -> str:
    state = plan.dir / "nova" / "state" if node is None else config_dir(plan, node) / "state"
    host = f"host = {node.name}\nmy_ip = {node.mgmt_ip}\n" if node else ""
    compute = ""
    if node is not None and not node.is_controller:
        compute = f"""\
compute_driver = ha_lab_guests.GuestDriver
instances_path = {config_dir(plan, node) / "instances"}
resume_guests_state_on_host_boot = true
heal_instance_info_cache_interval = -1
update_resources_interval = 10
"""
    listen = (f"osapi_compute_listen = {node.mgmt_ip}\nosapi_compute_listen_port = "
              f"{NOVA_API_PORT}\n" if node is not None and node.is_controller else "")
    sections = "\n".join([
        service_auth_section("neutron", plan, secrets.service, "nova"),
        service_auth_section("service_user", plan, secrets.service, "nova",
                             "send_service_user_token = true\n"),
        service_auth_section("cinder", plan, secrets.service, "nova",
                             "os_region_name = RegionOne\n")])
    return f"""\
# Nova of {node.name if node else 'the lab host'} in lab {plan.name}, written by ha-tests lab
[DEFAULT]
{host}{listen}{compute}transport_url = {rabbitmq.transport_url(plan, secrets.bus)}
state_path = {state}
use_stderr = true
debug = false
enabled_apis = osapi_compute
osapi_compute_workers = 1
metadata_workers = 1
instance_name_template = instance-%(uuid)s
report_interval = {SERVICE_REPORT_INTERVAL}
service_down_time = {SERVICE_DOWN_TIME}

[api]
auth_strategy = keystone

[api_database]
connection = {mariadb.url(plan, secrets.database, "nova_api")}
max_pool_size = 5

[database]
connection = {mariadb.url(plan, secrets.database, "nova")}
max_pool_size = 5

[conductor]
workers = 1

[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10

[notifications]
notification_format = versioned
notify_on_state_change = vm_and_task_state

[oslo_messaging_notifications]
driver = messagingv2

{rabbitmq.oslo_messaging_section(plan, node)}
[oslo_concurrency]
lock_path = {state}/locks

{keystone_authtoken(plan, secrets.service, "nova")}
{service_auth_section("placement", plan, secrets.service, "placement")}
{sections}
[glance]
valid_interfaces = internal,public
region_name = RegionOne

[wsgi]
api_paste_config = {venv_etc("nova") / "api-paste.ini"}
"""


def write_configs(plan: LabPlan, secrets: Secrets) -> None:
    host_dir = host_config_dir(plan)
    host_dir.mkdir(parents=True, exist_ok=True)
    _write_secret_file(host_dir / "nova.conf", config(plan, None, secrets))
    for node in plan.nodes:
        directory = config_dir(plan, node)
        (directory / "state" / "locks").mkdir(parents=True, exist_ok=True)
        _write_secret_file(directory / "nova.conf", config(plan, node, secrets))
        paste = venv_etc("nova") / "api-paste.ini"
        if node.is_controller and paste.exists():
            (directory / "api-paste.ini").write_text(paste.read_text())


def _write_secret_file(path: Path, text: str) -> None:
    from ha_tests.lab.system import write_secret
    write_secret(path, text)


def services(plan: LabPlan, node: NodePlan) -> list[dict]:
    conf = config_dir(plan, node) / "nova.conf"
    if not node.is_controller:
        argv = ["nova-compute", "-m", "ha_tests.lab.nova_compute", "--config-file", str(conf)]
        return [{"name": "nova-compute", **after_schema(plan, argv, executable=sys.executable),
                 "env": python_env()}]
    env = {"OS_NOVA_CONFIG_DIR": str(config_dir(plan, node)),
           "OS_NOVA_CONFIG_FILES": "api-paste.ini;nova.conf"}
    return [wsgi_service(plan, "nova-api", "nova-api", f"{node.mgmt_ip}:{NOVA_API_PORT}",
                         env),
            console_service(plan, "nova-conductor", conf),
            console_service(plan, "nova-scheduler", conf)]


def create_schemas(plan: LabPlan, secrets: Secrets) -> None:
    """What a deployment tool runs once: the API database, cell0 and cell1, and their
    mappings (``nova-manage``)."""
    manage = [venv_bin("nova-manage"), "--config-file",
              str(host_config_dir(plan) / "nova.conf")]
    run([*manage, "api_db", "sync"], timeout=600)
    run([*manage, "cell_v2", "map_cell0", "--database_connection",
         mariadb.url(plan, secrets.database, "nova_cell0")], timeout=300,
        redact=secrets.database)
    listing = run([*manage, "cell_v2", "list_cells"], timeout=300, check=False)
    if " cell1 " not in listing.stdout:
        run([*manage, "cell_v2", "create_cell", "--name", "cell1"], timeout=300,
            redact=secrets.database)
    run([*manage, "db", "sync"], timeout=600)
