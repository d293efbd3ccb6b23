"""The kolla-style lab (``ha-tests lab up --style kolla``) against the real thing: its
controllers' services run in real podman containers (crun, the host's files as an overlay
root), named as kolla-ansible names them; the lab writes kolla's ``multinode`` and
``globals.yml``; discovery from those files alone finds every service the lab runs, on the
nodes where it runs, as a podman container, and the VIP; and a kill, a stop and a restart
through the container really happen (``podman ps`` says so) and it comes back.

A lab of its own (``HA_TESTS_TEST_KOLLA_LAB_NAME`` / ``_CIDR``), brought up once for the
module and taken down after it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from lab_session import session_lab
from lab_settings import KOLLA_LAB_CIDR, KOLLA_LAB_NAME
from labcheck import healthy, node_processes, ssh, unhealthy, wait_for, what_runs

from ha_tests.inventory import load_inventory
from ha_tests.lab.kolla import container_name
from ha_tests.lab.system import nspids

pytestmark = [pytest.mark.lab, pytest.mark.skipif(
    not (shutil.which("podman") and shutil.which("crun")),
    reason="needs podman and crun (./bootstrap.sh setup installs them)")]


@pytest.fixture(scope="module")
def kolla_lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    with session_lab(KOLLA_LAB_NAME, KOLLA_LAB_CIDR, label="kolla lab up",
                     style="kolla") as lab:
        yield lab


def ha_tests(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "ha_tests.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def containers(lab, node: str) -> dict[str, str]:
    """``podman ps -a`` on the node, over SSH as an operator runs it: name -> state."""
    rc, out = ssh(lab, node, "podman ps -a --format json", timeout=60)
    assert rc == 0, out
    return {name: item["State"] for item in json.loads(out or "[]")
            for name in ([item["Names"]] if isinstance(item["Names"], str) else item["Names"])}


def inspect(lab, node: str, name: str) -> dict:
    rc, out = ssh(lab, node, f"podman inspect {name}", timeout=60)
    assert rc == 0, out
    return json.loads(out)[0]["State"]


@pytest.fixture(scope="module")
def discovered(kolla_lab, tmp_path_factory):
    """``ha-tests discover`` on the lab's own kolla files, once."""
    lab = kolla_lab
    assert wait_for(lambda: healthy(lab), 120), "the kolla lab is not healthy"
    out = tmp_path_factory.mktemp("kolla") / "inventory.yaml"
    result = ha_tests("discover", "-i", lab.kolla_multinode_path, "--globals",
                      lab.kolla_globals_path, "-o", out)
    assert result.returncode == 0, result.stderr
    return {"lab": lab, "inventory": load_inventory(out), "stderr": result.stderr}


def test_the_controllers_services_run_in_podman_containers_named_as_kolla_names_them(
        kolla_lab):
    lab = kolla_lab
    assert wait_for(lambda: healthy(lab), 120), lab.status(bmc_query=False)
    for node in lab.plan.controllers:
        # every service of the controller but its own sshd is a container, of kolla's name
        services = lab.services(node.name)
        assert "sshd" in services and set(services) - {"sshd"} >= {
            "keystone", "haproxy", "keepalived", "mariadb", "memcached"}, services
        assert containers(lab, node.name) == {
            name: "running" for name in services if name != "sshd"}, node.name
        # keystone's processes really are in a container: a PID namespace below the node's
        regex = re.compile(load_inventory(lab.inventory_path).services["keystone"].process)
        pids = [pid for pid, line in node_processes(lab, node.name).items()
                if regex.search(line)]
        assert pids and all(len(nspids(pid)) == 3 for pid in pids), node.name
    for node in lab.plan.nodes:
        if not node.is_controller:
            assert containers(lab, node.name) == {}, node.name  # its own podman, not the host's


def test_the_lab_writes_kolla_multinode_and_globals_yml_with_no_services_map(kolla_lab):
    lab = kolla_lab
    ini = lab.kolla_multinode_path.read_text()
    assert "[control]" in ini and "[compute]" in ini
    for node in lab.plan.controllers:
        assert f"{node.name} ansible_host={node.mgmt_ip}" in ini.split("[compute]")[0]
    assert f"kolla_internal_vip_address: \"{lab.plan.vip}\"" in lab.kolla_globals_path.read_text()
    assert (lab.kolla_multinode_path.stat().st_mode & 0o077) == 0  # it holds BMC passwords
    from ha_tests.inventory_formats import load_any

    assert load_any(lab.kolla_multinode_path).services == {}


def test_discovery_finds_every_service_where_it_runs_as_a_podman_container_and_the_vip(
        discovered):
    lab, inventory = discovered["lab"], discovered["inventory"]
    truth = what_runs(lab)
    assert set(truth) >= {"keystone", "haproxy", "keepalived", "sshd", "mysql", "memcached"}
    assert set(inventory.services) == set(truth), discovered["stderr"]
    for name, nodes in truth.items():
        service = inventory.services[name]
        assert set(service.nodes) == nodes, name
        if name == "sshd":
            assert service.manager == "command"  # the node's own supervisor runs it
            continue
        assert service.manager == "podman" and service.container == container_name(name), name
        assert service.source.startswith(f"podman container {service.container}"), name
        for node in nodes:
            lines = node_processes(lab, node).values()
            assert any(re.search(service.process, line) for line in lines), (name, node)
    assert inventory.vips["api"] == lab.plan.vip


def state_of(lab, node, name):
    return containers(lab, node).get(name)


def test_a_stop_a_start_and_a_restart_through_podman_really_happen(discovered):
    from ha_tests.services import service_argv
    from ha_tests.transport import ShellPool

    lab, inventory = discovered["lab"], discovered["inventory"]
    service = inventory.services["keystone"]
    node = next(n for n in service.nodes if n != lab.vip_holder())
    pool = ShellPool(inventory)
    shell = pool.get(node)
    try:
        before = inspect(lab, node, "keystone")
        assert shell.run(service_argv("keystone", service, "stop"), timeout=120).ok
        assert state_of(lab, node, "keystone") == "exited"
        assert shell.run(service_argv("keystone", service, "status"), timeout=60).stdout \
            .strip() == "false"
        assert not [line for line in node_processes(lab, node).values()
                    if re.search(service.process, line)]  # its processes are gone
        assert shell.run(service_argv("keystone", service, "start"), timeout=120).ok
        assert wait_for(lambda: state_of(lab, node, "keystone") == "running", 60)
        started = inspect(lab, node, "keystone")
        assert started["Pid"] != before["Pid"]
        assert shell.run(service_argv("keystone", service, "restart"), timeout=120).ok
        assert wait_for(lambda: state_of(lab, node, "keystone") == "running", 60)
        restarted = inspect(lab, node, "keystone")
        assert restarted["Pid"] != started["Pid"]
        assert restarted["StartedAt"] != started["StartedAt"]
    finally:
        shell.run(service_argv("keystone", service, "start"), timeout=120)
        pool.close()
    assert wait_for(lambda: healthy(lab), 120), unhealthy(lab)


def test_a_killed_container_process_is_restarted_by_podman_as_kolla_s_restart_policy_says(
        discovered):
    lab, inventory = discovered["lab"], discovered["inventory"]
    service = inventory.services["haproxy"]
    node = next(n for n in service.nodes if n != lab.vip_holder())
    before = inspect(lab, node, "haproxy")
    assert before["Running"]
    os.kill(next(pid for pid, line in node_processes(lab, node).items()
                 if re.search(service.process, line) and "conmon" not in line), signal.SIGKILL)
    # the container really died (a new main process), and podman brought it back
    assert wait_for(lambda: inspect(lab, node, "haproxy")["Pid"] not in (0, before["Pid"])
                    and state_of(lab, node, "haproxy") == "running", 60)
    # a 'podman kill' too: the container's process really goes, and the container comes
    # back (its restart policy, else 'podman start')
    killed = inspect(lab, node, "haproxy")["Pid"]
    rc, out = ssh(lab, node, "podman kill haproxy", timeout=60)
    assert rc == 0, out
    assert wait_for(lambda: inspect(lab, node, "haproxy")["Pid"] != killed, 30)
    if state_of(lab, node, "haproxy") != "running":
        rc, out = ssh(lab, node, "podman start haproxy", timeout=60)
        assert rc == 0, out
    assert wait_for(lambda: state_of(lab, node, "haproxy") == "running", 60)
    assert wait_for(lambda: healthy(lab), 120), unhealthy(lab)


def test_the_kolla_ini_alone_finds_what_it_finds_with_globals_yml(discovered, tmp_path):
    """Without globals.yml (kolla_internal_vip_address) discovery still finds every service
    where it runs and the VIP (from the openrc's Keystone URL): the same inventory the gate
    below runs from, so the ini alone is enough to attack the right things."""
    lab, with_globals = discovered["lab"], discovered["inventory"]
    out = tmp_path / "inventory.yaml"
    result = ha_tests("discover", "-i", lab.kolla_multinode_path, "--openrc",
                      lab.kolla_openrc_path, "-o", out)
    assert result.returncode == 0, result.stderr
    ini_only = load_inventory(out)
    assert ini_only.vips["api"] == lab.plan.vip, result.stderr
    assert set(ini_only.services) == set(with_globals.services), result.stderr
    for name, service in with_globals.services.items():
        found = ini_only.services[name]
        assert (set(found.nodes), found.manager, found.container, found.process) == (
            set(service.nodes), service.manager, service.container, service.process), name


def test_validate_deployment_from_the_kolla_files_measures_every_scenario_the_lab_can_run(
        discovered, tmp_path):
    """The installer's files alone, no services map: post-deploy measures every scenario
    whose service the lab runs; only those needing what the lab lacks are skipped."""
    import xml.etree.ElementTree as ET

    lab = discovered["lab"]
    assert wait_for(lambda: healthy(lab), 120), unhealthy(lab)
    junit = tmp_path / "junit.xml"
    result = ha_tests("validate-deployment", "--profile", "post-deploy", "-i",
                      lab.kolla_multinode_path, "--globals", lab.kolla_globals_path,
                      "--openrc", lab.kolla_openrc_path, "-r", tmp_path / "results",
                      "--junit", junit, "--i-know-this-is-destructive", "-q", timeout=1800)
    out = result.stdout[-4000:] + result.stderr[-3000:]
    assert result.returncode in (0, 1), out  # 1: an SLA failed (the lab's timing)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")
             if c.get("classname") != "ha_tests.gate"}
    skipped = sorted(n for n, c in cases.items() if c.find("skipped") is not None)
    assert skipped == ["kill-neutron-server", "kill-nova-api"], out  # the lab runs neither
    assert not [n for n, c in cases.items() if c.find("error") is not None], out
    assert "4 of 6 measured" in result.stdout, out
    assert "unresolved" not in out
    assert wait_for(lambda: healthy(lab), 180), f"the run left the lab broken: {unhealthy(lab)}"
