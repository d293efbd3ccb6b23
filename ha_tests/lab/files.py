"""What ``lab up`` hands to its users: inventory, clouds.yaml, Yardstick pod.yaml, openrc
(and, in the kolla style, kolla-ansible's ``multinode`` and ``globals.yml``).

The inventory follows docs/contracts.rst exactly; the pod.yaml names nodes ``node1..node5``
in the order Yardstick's HA test cases assume (``node1`` is a controller). Files holding a
password are written mode 0600.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ha_tests.lab import (
    haproxy,
    keepalived,
    keystone,
    kolla,
    mariadb,
    memcached,
    pacemaker,
    sshd,
)
from ha_tests.lab.plan import (
    ADMIN_USER,
    BMC_PORT,
    BMC_USER,
    CLOUD_NAME,
    KEYSTONE_PORT,
    MARIADB_PORT,
    MEMCACHED_PORT,
    MGMT_IF,
    REGION,
    LabPlan,
)
from ha_tests.lab.system import SecretText, read_secret, write_secret


class _Dumper(yaml.SafeDumper):
    """YAML's safe dumper, taking the lab's secrets (a str subclass) as the strings they are."""


_Dumper.add_representer(SecretText, yaml.SafeDumper.represent_str)


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     width=100)


def hactl(plan: LabPlan, verb: str, service: str) -> str:
    return f"{plan.dir}/bin/hactl {verb} {service}"


def inventory(plan: LabPlan, bmc_password: str, servers: list[dict] | None = None,
              bus_url: str | None = None) -> str:
    """The inventory; ``servers`` ({name, host, address}) are the full profile's Nova guests,
    listed with the lab's own VMs so that ``vm-ping`` with ``vms: all`` watches them too."""
    services = {}
    # (inventory name, the node's unit, process, port): "mysql" as Yardstick names it, one
    # Galera member on each controller
    for name, unit, regex, port in (
            ("keystone", "keystone", keystone.PROCESS_REGEX, KEYSTONE_PORT),
            ("haproxy", "haproxy", haproxy.PROCESS_REGEX, KEYSTONE_PORT),
            ("keepalived", "keepalived", keepalived.PROCESS_REGEX, None),
            ("mysql", "mariadb", mariadb.PROCESS_REGEX, MARIADB_PORT),
            ("memcached", "memcached", memcached.PROCESS_REGEX, MEMCACHED_PORT),
            ("sshd", "sshd", sshd.PROCESS_REGEX, 22)):
        entry = {"roles": ["controller"] if name != "sshd" else ["controller", "compute"],
                 "process": regex, "manager": "command",
                 "start": hactl(plan, "start", unit), "stop": hactl(plan, "stop", unit),
                 "status": hactl(plan, "status", unit)}
        if port:
            entry["port"] = port
        services[name] = entry
    if plan.full:
        services.update(_full_services(plan))
    services = kolla.as_containers(plan, services)
    if plan.pacemaker:
        services = pacemaker.as_resources(services)
    extra = ({"notifications": {"transport_url": bus_url, "quorum_queues": True}}
             if bus_url else {})
    data = {
        "name": plan.name,
        "test_target": True,
        "cloud": CLOUD_NAME,
        "clouds_yaml": str(plan.dir / "clouds.yaml"),
        "vips": {"api": plan.vip},
        "ssh": {"user": "root", "port": 22, "key_file": str(plan.dir / "ssh" / "id_ed25519"),
                "known_hosts": str(plan.dir / "ssh" / "known_hosts"), "connect_timeout": 5},
        "nodes": [{
            "name": node.name,
            "roles": [node.role],
            "address": node.mgmt_ip,
            "interfaces": {"mgmt": MGMT_IF},
            "bmc": {"type": "ipmi", "address": node.bmc_ip, "port": BMC_PORT,
                    "username": BMC_USER, "password": bmc_password},
        } for node in plan.nodes],
        "services": services,
        "lab": {"name": plan.name, "dir": str(plan.dir),
                "vms": [{"name": vm.name, "host": vm.host, "address": vm.address}
                        for vm in plan.vms] + list(servers or [])},
        **extra,
    }
    return f"# Inventory of lab {plan.name}, written by ha-tests lab up\n" + _dump(data)


def _full_services(plan: LabPlan) -> dict:
    """The full profile's services, named as Yardstick's test cases name them."""
    from ha_tests.lab import cinder, glance, nova, placement, rabbitmq
    from ha_tests.lab.plan import (
        CINDER_API_PORT,
        IMAGE_PORT,
        NOVA_API_PORT,
        PLACEMENT_PORT,
        RABBIT_PORT,
    )

    found = {}
    for name, unit, regex, role, port in (
            ("nova-api", "nova-api", nova.PROCESS_REGEXES["nova-api"], "controller",
             NOVA_API_PORT),
            ("nova-conductor", "nova-conductor", nova.PROCESS_REGEXES["nova-conductor"],
             "controller", None),
            ("nova-scheduler", "nova-scheduler", nova.PROCESS_REGEXES["nova-scheduler"],
             "controller", None),
            ("nova-compute", "nova-compute", nova.PROCESS_REGEXES["nova-compute"], "compute",
             None),
            ("placement-api", "placement-api", placement.PROCESS_REGEX, "controller",
             PLACEMENT_PORT),
            ("rabbitmq-server", "rabbitmq-server", rabbitmq.PROCESS_REGEX, "controller",
             RABBIT_PORT),
            ("glance-api", "glance-api", glance.PROCESS_REGEX, "controller", IMAGE_PORT)):
        entry = {"roles": [role], "process": regex, "manager": "command",
                 "start": hactl(plan, "start", unit), "stop": hactl(plan, "stop", unit),
                 "status": hactl(plan, "status", unit)}
        if port:
            entry["port"] = port
        found[name] = entry
    for name, unit, nodes, port in (
            ("cinder-api", "cinder-api", plan.controllers, CINDER_API_PORT),
            ("cinder-scheduler", "cinder-scheduler", plan.controllers, None),
            ("cinder-volume", "cinder-volume", cinder.aa_members(plan), None),
            ("cinder-volume-ap", "cinder-volume", [cinder.ap_node(plan)], None)):
        entry = {"nodes": [n.name for n in nodes],
                 "process": cinder.PROCESS_REGEXES[unit], "manager": "command",
                 "start": hactl(plan, "start", unit), "stop": hactl(plan, "stop", unit),
                 "status": hactl(plan, "status", unit)}
        if port:
            entry["port"] = port
        found[name] = entry
    return found


def clouds_yaml(plan: LabPlan, admin_password: str) -> str:
    return _dump({"clouds": {CLOUD_NAME: {
        "auth": {"auth_url": plan.auth_url, "username": ADMIN_USER, "password": admin_password,
                 "project_name": "admin", "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": REGION,
        "identity_api_version": 3,
        "interface": "public",
    }}})


def pod_yaml(plan: LabPlan, bmc_password: str, ssh_password: str | None = None) -> str:
    """Yardstick's pod.yaml of the lab: SSH with the lab's key, or with root's password
    (``ssh_password``: ``pod-password.yaml``), both of which Yardstick's pod files use."""
    # node0 is Yardstick's Jumpserver (test cases name it as jump_host): here the runner's
    # own machine, on the host side of the bridge. ha-tests drives BMCs itself, not from it.
    key = {"key_filename": str(plan.dir / "ssh" / "id_ed25519")}
    login = {"password": ssh_password} if ssh_password is not None else key
    jump = {"name": "node0", "role": "Jumpserver", "ip": plan.host_ip, "user": "root", **key}
    nodes = [jump] + [{
        "name": f"node{node.index}",
        "role": "Controller" if node.is_controller else "Compute",
        "ip": node.mgmt_ip,
        "user": "root",
        **login,
        "ipmi_ip": node.bmc_ip,
        "ipmi_user": BMC_USER,
        "ipmi_password": bmc_password,
    } for node in plan.nodes]
    names = "node0=jumpserver, " + ", ".join(f"node{n.index}={n.name}" for n in plan.nodes)
    return f"# Yardstick pod.yaml of lab {plan.name} ({names})\n" + _dump({"nodes": nodes})


def openrc(plan: LabPlan, admin_password: str) -> str:
    return (f"# Credentials of lab {plan.name}: source this file\n"
            f"export OS_AUTH_URL={plan.auth_url}\n"
            f"export OS_USERNAME={ADMIN_USER}\n"
            f"export OS_PASSWORD='{admin_password}'\n"
            "export OS_PROJECT_NAME=admin\n"
            "export OS_USER_DOMAIN_NAME=Default\n"
            "export OS_PROJECT_DOMAIN_NAME=Default\n"
            f"export OS_REGION_NAME={REGION}\n"
            "export OS_IDENTITY_API_VERSION=3\n"
            "export OS_INTERFACE=public\n")


def write_all(plan: LabPlan, admin_password: str, bmc_password: str,
              servers: list[dict] | None = None, bus_url: str | None = None) -> None:
    write_secret(plan.dir / "inventory.yaml", inventory(plan, bmc_password, servers, bus_url))
    write_secret(plan.dir / "clouds.yaml", clouds_yaml(plan, admin_password))
    write_secret(plan.dir / "pod.yaml", pod_yaml(plan, bmc_password))
    ssh_password = plan.dir / "secrets" / "ssh-password"
    if ssh_password.exists():
        write_secret(plan.dir / "pod-password.yaml",
                     pod_yaml(plan, bmc_password, read_secret(ssh_password)))
    write_secret(plan.dir / "openrc", openrc(plan, admin_password))
    if plan.kolla:
        bmc = {n.name: {"ipmi_address": n.bmc_ip, "ipmi_port": str(BMC_PORT),
                        "ipmi_username": BMC_USER, "ipmi_password": bmc_password}
               for n in plan.nodes}
        write_secret(kolla_multinode_path(plan), kolla.multinode(
            plan, plan.dir / "ssh" / "id_ed25519", plan.dir / "ssh" / "known_hosts", bmc))
        write_secret(kolla_globals_path(plan), kolla.globals_yml(plan))
        write_secret(kolla_openrc_path(plan), openrc(plan, admin_password))


def kolla_multinode_path(plan: LabPlan) -> Path:
    """The kolla-style lab's ``multinode`` INI, next to its own inventory."""
    return plan.dir / "multinode"


def kolla_globals_path(plan: LabPlan) -> Path:
    return plan.dir / "globals.yml"


def kolla_openrc_path(plan: LabPlan) -> Path:
    """kolla-ansible's ``admin-openrc.sh``: the admin credentials, as ``openrc``."""
    return plan.dir / "admin-openrc.sh"


def hactl_wrapper(plan: LabPlan, python: str) -> Path:
    """``<lab>/bin/hactl``: the command the inventory's services map runs over SSH."""
    path = plan.dir / "bin" / "hactl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n# systemctl-like control of this lab node's services\n"
                    f"exec {python} -m ha_tests.lab.hactl --lab-dir {plan.dir} \"$@\"\n")
    path.chmod(0o755)
    return path
