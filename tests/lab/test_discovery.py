"""Discovery against the running lab, from an installer's own inventory: a kolla-ansible
``multinode`` INI written for the lab's addresses, with and without ``globals.yml``, and no
services map. It must find every service the lab's supervisor runs, on exactly the nodes
where it runs, with the way to stop and start it, and the VIP; and a stop and start through
that way must really happen."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from installer_inventories import kolla_multinode, tripleo_inventory
from labcheck import healthy, node_processes, wait_for, what_runs

from ha_tests.discovery import load_catalog
from ha_tests.inventory import load_inventory
from ha_tests.inventory_formats import load_any
from ha_tests.services import service_argv
from ha_tests.transport import ShellPool

pytestmark = pytest.mark.lab


def ha_tests(*args):
    return subprocess.run([sys.executable, "-m", "ha_tests.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def up(lab):
    assert wait_for(lambda: healthy(lab), 90), "the lab is not healthy before the test"
    yield lab
    assert wait_for(lambda: healthy(lab), 90), "the test left the lab broken"


@pytest.fixture(scope="module")
def discovered(lab, tmp_path_factory):
    """``ha-tests discover`` run once on a kolla INI with globals.yml (the real command)."""
    up, tmp_path = lab, tmp_path_factory.mktemp("discovered")
    assert wait_for(lambda: healthy(up), 90), "the lab is not healthy before discovery"
    ini = kolla_multinode(up, tmp_path / "multinode")
    globals_yml = tmp_path / "globals.yml"
    globals_yml.write_text(f"---\nkolla_base_distro: debian\nkolla_internal_vip_address: "
                           f"{up.plan.vip}\nnetwork_interface: br-mgmt\n")
    out = tmp_path / "inventory.yaml"
    before = {n.name: up.services(n.name) for n in up.plan.nodes}
    pids_before = {n.name: sorted(node_processes(up, n.name)) for n in up.plan.controllers}
    result = ha_tests("discover", "-i", str(ini), "--globals", str(globals_yml), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return {"lab": up, "ini": ini, "out": out, "stderr": result.stderr, "before": before,
            "pids_before": pids_before, "globals": globals_yml}


def test_discovery_finds_every_service_the_lab_runs_on_the_nodes_where_it_runs(discovered):
    lab = discovered["lab"]
    inventory = load_inventory(discovered["out"])
    truth = what_runs(lab)
    assert set(truth) >= {"keystone", "haproxy", "keepalived", "sshd"}
    for name, nodes in truth.items():
        assert name in inventory.services, f"{name} not discovered:\n{discovered['stderr']}"
        service = inventory.services[name]
        assert set(service.nodes) == nodes, name
        assert {n.name for n in inventory.service_nodes(name)} == nodes, name
        # the way the lab runs it: its supervisor's hactl, as the lab's own inventory says
        assert service.manager == "command" and service.source.startswith("lab supervisor")
        assert service.stop == f"{lab.dir}/bin/hactl stop {lab_unit(lab, name)}"
        assert service.start == f"{lab.dir}/bin/hactl start {lab_unit(lab, name)}"
        # and its pattern matches the service's real processes on each of those nodes
        for node in nodes:
            lines = node_processes(lab, node).values()
            assert any(re.search(service.process, line) for line in lines), (name, node)
    assert set(inventory.services) == set(truth), "discovered a service the lab does not run"


def lab_unit(lab, name: str) -> str:
    units = load_catalog()[name].units
    return next(u for n in lab.plan.nodes for u in lab.services(n.name) if u in units)


def test_discovery_names_the_vip_and_the_roles_and_says_where_from(discovered):
    lab = discovered["lab"]
    inventory = load_inventory(discovered["out"])
    text = discovered["out"].read_text()
    assert inventory.vips["api"] == lab.plan.vip
    vip_line = next(line for line in text.splitlines() if line.startswith("  api:"))
    assert "globals.yml (kolla_internal_vip_address)" in vip_line
    assert "keepalived" in vip_line and f"held now by {lab.vip_holder()}" in vip_line
    for node in lab.plan.nodes:
        assert ("controller" if node.is_controller else "compute") in inventory.node(
            node.name).roles
    assert all(s.source for s in inventory.services.values())
    assert "only reads" in discovered["stderr"]


def test_discovery_without_globals_finds_the_vip_in_keepalived_and_haproxy(up, tmp_path):
    ini = kolla_multinode(up, tmp_path / "multinode")
    result = ha_tests("discover", "-i", str(ini))
    assert result.returncode == 0, result.stderr
    vip = next(line for line in result.stderr.splitlines() if line.startswith("vip api:"))
    assert up.plan.vip in vip and "keepalived" in vip and "haproxy binds" in vip


def test_secrets_stay_out_of_what_discovery_says_and_into_the_0600_file_only(discovered):
    secret = load_inventory(discovered["lab"].inventory_path).nodes[0].bmc.password
    secret = secret.get_secret_value()
    assert secret not in discovered["stderr"]
    written = load_inventory(discovered["out"])
    assert written.nodes[0].bmc.password.get_secret_value() == secret  # the file is complete
    assert (discovered["out"].stat().st_mode & 0o077) == 0


def test_discovery_changes_nothing_on_the_nodes(discovered):
    lab = discovered["lab"]
    assert {n.name: lab.services(n.name) for n in lab.plan.nodes} == discovered["before"]
    for node, pids in discovered["pids_before"].items():
        # every process that ran before still runs (sshd sessions of discovery come and go)
        assert set(pids) <= set(node_processes(lab, node)), node


@pytest.mark.parametrize("service", ["keystone", "haproxy"])
def test_a_stop_and_start_through_the_discovered_way_really_happen(up, discovered, service):
    lab = discovered["lab"]
    inventory = load_inventory(discovered["out"])
    entry = inventory.services[service]
    node = next(n for n in entry.nodes if n != lab.vip_holder())
    unit = lab_unit(lab, service)
    pool = ShellPool(inventory)
    try:
        shell = pool.get(node)
        assert shell.run(service_argv(service, entry, "stop"), timeout=60).ok
        try:
            assert lab.services(node)[unit] != "running"
            assert not [line for line in node_processes(lab, node).values()
                        if re.search(entry.process, line)]
            assert shell.run(service_argv(service, entry, "status"), timeout=30).rc != 0
        finally:
            assert shell.run(service_argv(service, entry, "start"), timeout=60).ok
        assert wait_for(lambda: lab.services(node)[unit] == "running", 30)
        assert shell.run(service_argv(service, entry, "status"), timeout=30).ok
    finally:
        pool.close()


def test_validate_deployment_dry_run_on_the_kolla_ini_resolves_the_lab_services(discovered):
    result = ha_tests("validate-deployment", "-i", str(discovered["ini"]), "--globals",
                      str(discovered["globals"]), "--dry-run", "--i-know-this-is-destructive")
    out = result.stdout + result.stderr
    assert "discovering what the inventory lacks" in out
    for unresolved in ("no service 'keystone'", "no service 'haproxy'", "vips has: none"):
        assert unresolved not in out, out
    # kill-keystone's victim is the VIP holder, found through the discovered VIP
    kill_keystone = out.split("kill-keystone", 1)[1].split("\n\n")[0]
    assert f"kill-process on {discovered['lab'].vip_holder()}" in kill_keystone, out
    # the services the lab does not run are said to be missing, with how to supply them
    assert "still missing after discovery: " in out and "neutron-server" in out
    secret = load_inventory(discovered["lab"].inventory_path).nodes[0].bmc.password
    assert secret.get_secret_value() not in out


def test_run_with_no_discover_discovers_nothing(discovered):
    result = ha_tests("run", "kill-keystone", "-i", str(discovered["ini"]), "--dry-run",
                      "--no-discover", "--i-know-this-is-destructive")
    out = result.stdout + result.stderr
    assert "discovering" not in out
    assert "lacks services this scenario needs: keystone" in out  # nothing was discovered


def test_the_lab_inventory_loads_as_discovered_from_the_ini(discovered):
    """The INI alone (what the installer hands over) has nothing to attack."""
    assert load_any(discovered["ini"]).services == {}


def test_a_tripleo_yaml_inventory_is_enough_too(up, tmp_path):
    out = tmp_path / "inventory.yaml"
    result = ha_tests("discover", "-i", str(tripleo_inventory(up, tmp_path / "inv.yaml")),
                      "-o", str(out))
    assert result.returncode == 0, result.stderr
    inventory = load_inventory(out)
    truth = {name: {f"overcloud-{n}" for n in nodes} for name, nodes in what_runs(up).items()}
    assert {name: set(s.nodes) for name, s in inventory.services.items()} == truth
    assert inventory.vips["api"] == up.plan.vip
    assert "controller" in inventory.node("overcloud-ctl1").roles


def test_keystones_catalog_is_read_with_kollas_admin_openrc(up, tmp_path):
    out = tmp_path / "inventory.yaml"
    ini = kolla_multinode(up, tmp_path / "multinode")
    result = ha_tests("discover", "-i", str(ini), "--openrc", str(up.openrc_path), "-o",
                      str(out))
    assert result.returncode == 0, result.stderr
    assert f"endpoint identity public: http://{up.plan.vip}:5000" in result.stderr, \
        result.stderr
    assert up.admin_password not in result.stderr
    text = out.read_text()
    assert f"# auth: read from {up.openrc_path}" in text
    assert load_inventory(out).auth.password.get_secret_value() == up.admin_password


def test_the_labs_yardstick_pod_yaml_is_enough_with_its_known_hosts(up, tmp_path):
    out = tmp_path / "inventory.yaml"
    result = ha_tests("discover", "-i", str(up.pod_yaml_path), "--known-hosts",
                      str(up.dir / "ssh" / "known_hosts"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "node node0 not asked: the installer's own machine (role jumpserver)" in \
        result.stderr
    inventory = load_inventory(out)
    truth = {name: {f"node{up.plan.node(n).index}" for n in nodes}
             for name, nodes in what_runs(up).items()}
    assert {name: set(s.nodes) for name, s in inventory.services.items()} == truth
    assert inventory.vips["api"] == up.plan.vip


def test_the_labs_pod_yaml_with_passwords_is_enough_too(up, tmp_path):
    """Yardstick's pod.yaml gives a node's ``password:`` as often as its ``key_filename:``:
    the nodes' sshd takes root's lab password (sshd.py), and discovery logs in with it."""
    nodes = yaml.safe_load(up.pod_password_yaml_path.read_text())["nodes"]
    assert all("key_filename" not in n for n in nodes if n["role"] != "Jumpserver")
    out = tmp_path / "inventory.yaml"
    result = ha_tests("discover", "-i", str(up.pod_password_yaml_path), "--known-hosts",
                      str(up.dir / "ssh" / "known_hosts"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert up.ssh_password not in result.stderr + result.stdout
    inventory = load_inventory(out)
    assert all(inventory.node(f"node{n.index}").ssh.key_file is None for n in up.plan.nodes)
    truth = {name: {f"node{up.plan.node(n).index}" for n in nodes}
             for name, nodes in what_runs(up).items()}
    assert {name: set(s.nodes) for name, s in inventory.services.items()} == truth


def test_a_node_takes_roots_lab_password_and_refuses_another(up):
    import paramiko

    node = up.plan.controllers[0]
    for password, works in ((up.ssh_password, True), (up.ssh_password + "x", False)):
        client = paramiko.SSHClient()
        client.load_host_keys(str(up.dir / "ssh" / "known_hosts"))
        try:
            client.connect(node.mgmt_ip, username="root", password=password,
                           look_for_keys=False, allow_agent=False, timeout=10)
            _, stdout, _ = client.exec_command("hostname")
            assert works and stdout.read().decode().strip() == node.name
        except paramiko.AuthenticationException:
            assert not works, "the lab password was refused"
        finally:
            client.close()
