"""The kolla-style lab's pieces that are pure computation (ha_tests/lab/kolla.py): the
container a service becomes, the lab inventory's services map, kolla's own files."""

from __future__ import annotations

import configparser

from ha_tests.lab import kolla
from ha_tests.lab.plan import LabPlan


def plan(style="kolla", profile="identity"):
    return LabPlan("kx", "10.190.0.0/16", profile=profile, style=style)


def test_a_service_becomes_a_kolla_named_podman_container_running_its_own_command_line():
    the_plan = plan()
    node = the_plan.controllers[0]
    spec = {"name": "rabbitmq-server", "path": "/usr/lib/rabbitmq/bin/rabbitmq-server",
            "argv": ["rabbitmq-server", "-detached"], "env": {"RABBITMQ_NODENAME": "r@ctl1"}}
    made = kolla.container(the_plan, node, spec)
    argv = made["create"]
    assert made["name"] == "rabbitmq" and argv[:4] == ["/usr/bin/podman", "create", "--name",
                                                       "rabbitmq"]
    assert argv[argv.index("--restart") + 1] == "unless-stopped"
    assert argv[argv.index("--rootfs") + 1] == "/:O"  # the host's files: no image registry
    assert f"{the_plan.dir}:{the_plan.dir}" in argv and "RABBITMQ_NODENAME=r@ctl1" in argv
    assert argv[-2:] == ["rabbitmq-server", "-detached"]  # argv[0] kept by exec -a
    assert "--privileged" not in argv and "--pid" not in argv
    keepalived = kolla.container(the_plan, node, {"name": "keepalived", "path": "/k",
                                                  "argv": ["/k"]})["create"]
    assert "--privileged" in keepalived and keepalived[keepalived.index("--pid") + 1] == "host"


def test_only_a_controllers_services_but_sshd_are_containerised_and_only_in_the_kolla_style(
        tmp_path, monkeypatch):
    monkeypatch.setenv("HA_TESTS_LAB_DIR", str(tmp_path))
    services = [{"name": "sshd", "path": "/s", "argv": ["/s"]},
                {"name": "keystone", "path": "/k", "argv": ["/k"]}]
    the_plan = plan()
    with_containers = kolla.node_spec(the_plan, the_plan.controllers[0], services)
    assert [s["name"] for s in with_containers["services"]] == ["sshd"]
    assert [c["name"] for c in with_containers["containers"]] == ["keystone"]
    assert with_containers["cgroup_mounts"][0][-1] == "/sys/fs/cgroup"
    assert not any("unified" in " ".join(m) for m in with_containers["cgroup_mounts"])
    compute = kolla.node_spec(the_plan, the_plan.computes[0], services)
    assert compute["containers"] == [] and compute["cgroup_mounts"] == []
    assert compute["masks"][0]["path"] == "/etc/containers"  # its own, empty, podman
    assert not kolla.containerised(plan("native"), plan("native").controllers[0], "keystone")


def test_the_node_podman_config_keeps_storage_in_the_node_and_run_state_in_its_run_dir(
        tmp_path, monkeypatch):
    monkeypatch.setenv("HA_TESTS_LAB_DIR", str(tmp_path))
    the_plan = plan()
    node = the_plan.controllers[1]
    target = kolla.write_node_config(the_plan, node)
    node_dir = the_plan.node_dir(node.name)
    storage = (target / "storage.conf").read_text()
    assert f'graphroot = "{node_dir}/containers/storage"' in storage
    assert f'runroot = "{node_dir}/run/containers/storage"' in storage
    conf = (target / "containers.conf").read_text()
    assert 'runtime = "crun"' in conf and 'cgroup_manager = "cgroupfs"' in conf
    assert not (target / "libpod.conf").exists()


def test_the_lab_inventory_controls_controller_services_through_their_containers():
    services = {
        "keystone": {"roles": ["controller"], "manager": "command",
                     "start": "/l/bin/hactl start keystone", "stop": "x", "status": "y"},
        "sshd": {"roles": ["controller", "compute"], "manager": "command",
                 "start": "/l/bin/hactl start sshd"},
        "mysql": {"nodes": ["ctl1"], "manager": "command",
                  "start": "/l/bin/hactl start mariadb"},
        "nova-compute": {"roles": ["compute"], "manager": "command",
                         "start": "/l/bin/hactl start nova-compute"}}
    done = kolla.as_containers(plan(), services)
    assert done["keystone"] == {"roles": ["controller"], "manager": "podman",
                                "container": "keystone"}
    assert done["mysql"]["container"] == "mariadb"
    assert done["sshd"] == services["sshd"] and done["nova-compute"] == services["nova-compute"]
    assert kolla.as_containers(plan("native"), services) == services


def test_kolla_multinode_and_globals_name_the_lab_machines_and_the_vip_and_no_services():
    the_plan = plan()
    text = kolla.multinode(the_plan, the_plan.dir / "key", the_plan.dir / "known",
                           {"ctl1": {"ipmi_address": "10.190.1.11"}})
    ini = configparser.ConfigParser(allow_no_value=True, delimiters=(" ",))
    ini.read_string(text)
    assert [k.split()[0] for k in ini["control"]] == ["ctl1", "ctl2", "ctl3"]
    assert [k.split()[0] for k in ini["compute"]] == ["cmp1", "cmp2"]
    assert "ctl1 ansible_host=10.190.0.11 ipmi_address=10.190.1.11" in text
    assert f"UserKnownHostsFile={the_plan.dir / 'known'}" in text
    globals_yml = kolla.globals_yml(the_plan)
    assert f'kolla_internal_vip_address: "{the_plan.vip}"' in globals_yml
    assert "services" not in globals_yml
