"""Glance for the full lab profile: glance-api active/active behind the VIP.

glance-api (under gunicorn, as the other APIs) runs on the three controllers, its database
on the Galera cluster and its images in one file store on the lab's shared disk (the lab
directory every node sees), so any controller serves an image another stored, as with a
deployment's shared NFS or Ceph store. ``lab up`` uploads one small image, ``lab-guest``, that
the lab's servers boot from (the lab's compute driver does not read its data).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ha_tests.lab import mariadb
from ha_tests.lab.openstack import Secrets, keystone_authtoken, venv_bin, venv_etc, wsgi_service
from ha_tests.lab.plan import IMAGE_PORT, LabPlan, NodePlan
from ha_tests.lab.system import run, write_secret

PROCESS_REGEX = r"^glance-api "
IMAGE_NAME = "lab-guest"
#: the image's bytes: small, and the same in every lab, so a download can be checked
IMAGE_DATA = b"".join(hashlib.sha256(f"ha-tests lab-guest {i}".encode()).digest()
                      for i in range(2048))  # 64 KiB


def config_dir(plan: LabPlan, node: NodePlan | None) -> Path:
    """A node's ``OS_GLANCE_CONFIG_DIR`` (``glance-api.conf`` in it); ``None``: the lab
    host's, for ``glance-manage``."""
    return plan.dir / "glance" if node is None else plan.node_dir(node.name) / "glance"


def store_dir(plan: LabPlan) -> Path:
    """The file store every glance-api shares (the lab's shared disk)."""
    return plan.dir / "glance" / "images"


def config(plan: LabPlan, node: NodePlan | None, secrets: Secrets) -> str:
    state = config_dir(plan, node) / "state"
    paste = venv_etc("glance") / "glance-api-paste.ini"
    self_url = (f"worker_self_reference_url = http://{node.mgmt_ip}:{IMAGE_PORT}\n"
                if node is not None else "")
    return f"""\
# Glance of {node.name if node else 'the lab host'} in lab {plan.name}, written by ha-tests lab
[DEFAULT]
use_stderr = true
debug = false
{self_url}image_cache_dir = {state}/image-cache
# no web-download: the lab's traffic stays on the host
enabled_import_methods = [glance-direct]
enabled_backends = shared:file

[database]
connection = {mariadb.url(plan, secrets.database, "glance")}
max_pool_size = 5

[glance_store]
default_backend = shared

[shared]
description = the lab's shared disk
filesystem_store_datadir = {store_dir(plan)}

[os_glance_staging_store]
filesystem_store_datadir = {state}/staging

[os_glance_tasks_store]
filesystem_store_datadir = {state}/tasks

[oslo_concurrency]
lock_path = {state}/locks

[paste_deploy]
flavor = keystone
config_file = {paste}

{keystone_authtoken(plan, secrets.service, "glance")}
"""


def write_configs(plan: LabPlan, secrets: Secrets) -> None:
    store_dir(plan).mkdir(parents=True, exist_ok=True)
    for node in (None, *plan.controllers):
        directory = config_dir(plan, node)
        for sub in ("staging", "tasks", "image-cache", "locks"):
            (directory / "state" / sub).mkdir(parents=True, exist_ok=True)
        write_secret(directory / "glance-api.conf", config(plan, node, secrets))


def services(plan: LabPlan, node: NodePlan) -> list[dict]:
    if not node.is_controller:
        return []
    return [wsgi_service(plan, "glance-api", "glance-api", f"{node.mgmt_ip}:{IMAGE_PORT}",
                         {"OS_GLANCE_CONFIG_DIR": str(config_dir(plan, node))})]


def create_schema(plan: LabPlan) -> None:
    """The schema, then Glance's metadata definitions (as kolla-ansible's bootstrap loads
    them: Horizon and Tempest read the namespaces and resource types)."""
    manage = [venv_bin("glance-manage"), "--config-file",
              str(config_dir(plan, None) / "glance-api.conf")]
    run([*manage, "db_sync"], timeout=600)
    run([*manage, "db_load_metadefs", str(venv_etc("glance") / "metadefs")], timeout=600)


def register_image(cloud):
    """``lab-guest``, uploaded through the VIP if the lab has none yet; the image."""
    image = cloud.image.find_image(IMAGE_NAME)
    if image is None or image.status != "active":
        if image is not None:
            cloud.image.delete_image(image)
        image = cloud.image.create_image(
            name=IMAGE_NAME, data=IMAGE_DATA, disk_format="raw", container_format="bare",
            visibility="public", wait=True, timeout=120)
    return cloud.image.get_image(image)
