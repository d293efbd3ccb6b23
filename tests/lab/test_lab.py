"""The lab's real control plane, observed from outside: Keystone behind HAProxy and a
keepalived VIP, sshd and hactl on every node, faults injected and healed for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
import yaml
from labcheck import (
    FAILOVER_REQUEST_TIMEOUT,
    api_ok,
    healthy,
    node_processes,
    ping,
    service_pids,
    ssh,
    token,
    wait_for,
)

from ha_tests.inventory import load_inventory
from ha_tests.inventory_formats.pod import load_pod
from ha_tests.lab import keystone
from ha_tests.lab.lab import ssh_banner
from ha_tests.lab.system import alive, kill, run

pytestmark = pytest.mark.lab


@pytest.fixture
def up(lab):
    """The lab, healthy before the test; and healthy again after it (tests heal what they
    break)."""
    assert wait_for(lambda: healthy(lab), 90), "the lab is not healthy before the test"
    yield lab
    assert wait_for(lambda: healthy(lab), 90), "the test left the lab broken"


def other_controller(lab, *not_these: str) -> str:
    return next(n.name for n in lab.plan.controllers if n.name not in not_these)


def haproxy_server_states(lab, node: str) -> dict[str, str]:
    """Backend server -> UP/DOWN, from the HAProxy of ``node`` (its admin socket)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(lab.plan.node_dir(node) / "run" / "haproxy.sock"))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    states = {}
    for line in data.decode().splitlines():
        fields = line.split(",")
        if len(fields) > 17 and fields[0] == "keystone_public" and fields[1] not in (
                "FRONTEND", "BACKEND"):
            states[fields[1]] = fields[17]
    return states


def served_after_losing(lab):
    """Whether the API answers through the VIP once the cloud has failed over from a lost
    controller: each token request may take seconds (the survivors' Keystones wait out the
    lost controller's memcached, a request sent while the VIP moves waits for SYN
    retransmits), and one may fail with a 500 when it was the Galera member HAProxy writes
    to (its sessions are cut): a few requests, each given the time it needs."""
    return wait_for(lambda: api_ok(lab, timeout=FAILOVER_REQUEST_TIMEOUT), 60, interval=1)


def test_up_on_an_up_lab_says_so(up):
    messages = []
    assert up.up(progress=messages.append) is False
    assert "already up" in messages[-1]


def test_outputs_follow_the_contracts(up):
    inventory = load_inventory(up.inventory_path)
    assert inventory.test_target is True
    assert inventory.vips == {"api": up.plan.vip}
    assert [n.name for n in inventory.nodes] == ["ctl1", "ctl2", "ctl3", "cmp1", "cmp2"]
    assert all(n.interfaces == {"mgmt": "br-mgmt"} for n in inventory.nodes)
    assert {vm.address for vm in inventory.lab.vms} == {vm.address for vm in up.plan.vms}
    for path in (up.inventory_path, up.clouds_yaml_path, up.pod_yaml_path, up.openrc_path):
        assert os.stat(path).st_mode & 0o077 == 0, f"{path} holds secrets: mode 0600"
    clouds = yaml.safe_load(up.clouds_yaml_path.read_text())["clouds"]["ha-lab"]
    assert clouds["auth"]["auth_url"] == f"http://{up.plan.vip}:5000/v3"
    assert clouds["region_name"] == "RegionOne"
    pod = load_pod(up.pod_yaml_path, "lab")
    # node0 is Yardstick's Jumpserver (the runner's machine); node1 the first controller
    assert [n.name for n in pod.nodes][:3] == ["node0.lab", "node1.lab", "node2.lab"]
    assert yaml.safe_load(up.pod_yaml_path.read_text())["nodes"][1]["role"] == "Controller"


def test_each_service_regex_finds_exactly_its_service(up):
    inventory = load_inventory(up.inventory_path)
    for name, service in inventory.services.items():
        for node in inventory.service_nodes(name):
            pids = service_pids(up, node.name, name)
            assert pids, f"{name} regex {service.process!r} finds nothing on {node.name}"
            others = [s for s in inventory.services if s != name]
            for other in others:
                assert not set(pids) & set(service_pids(up, node.name, other))


def test_token_issued_through_the_vip_validates_through_the_vip(up):
    subject, headers = token(up)
    assert headers["X-Lab-Backend"] in {"ctl1", "ctl2", "ctl3"}
    checker, _ = token(up)
    answer = keystone.validate_token(up.plan.auth_url, checker, subject)
    assert answer["X-Subject-Token"] == subject


def test_openstack_cli_works_with_the_labs_clouds_yaml(up):
    env = dict(os.environ, OS_CLOUD="ha-lab", OS_CLIENT_CONFIG_FILE=str(up.clouds_yaml_path))
    openstack = str(Path(sys.executable).parent / "openstack")
    issued = run([openstack, "token", "issue", "-f", "json"], env=env, timeout=60)
    assert json.loads(issued.stdout)["id"]
    users = run([openstack, "user", "list", "-f", "json"], env=env, timeout=60)
    assert "admin" in [u["Name"] for u in json.loads(users.stdout)]


def test_a_node_over_ssh_is_its_own_machine(up):
    rc, out = ssh(up, "ctl2", "hostname; tr '\\0' ' ' </proc/1/cmdline; echo; ps -eo args")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "ctl2"
    assert "ha_tests.lab.nodeinit" in lines[1]
    processes = "\n".join(lines[2:])
    assert "nodes/ctl2/haproxy.cfg" in processes
    assert "nodes/ctl1/" not in processes and "nodes/ctl3/" not in processes


def test_hactl_over_ssh_behaves_like_systemctl(up):
    service = load_inventory(up.inventory_path).services["keystone"]
    node = "ctl3"
    assert ssh(up, node, service.status)[0] == 0
    assert ssh(up, node, service.stop)[0] == 0
    try:
        assert ssh(up, node, service.status)[0] == 3
        assert not service_pids(up, node, "keystone")
        assert not wait_for(lambda: service_pids(up, node, "keystone"), 4), \
            "a stopped service must not be restarted"
        assert api_ok(up), "the API must survive one Keystone stopped"
    finally:
        assert ssh(up, node, service.start)[0] == 0
    assert ssh(up, node, service.status)[0] == 0
    assert ssh(up, node, f"{up.dir}/bin/hactl status nova-api")[0] == 4


def test_kill_keystone_where_it_serves_then_haproxy_routes_around_and_it_comes_back(up):
    serving = api_ok(up)["X-Lab-Backend"]
    balancer = up.vip_holder()
    victims = service_pids(up, serving, "keystone")
    assert victims
    for pid in victims:
        kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not any(alive(p) for p in victims), 5), "keystone still alive"
    assert not service_pids(up, serving, "keystone")
    assert wait_for(lambda: haproxy_server_states(up, balancer).get(serving) == "DOWN", 10)
    answer = wait_for(lambda: api_ok(up), 15)
    assert answer and answer["X-Lab-Backend"] != serving
    # the node's init restarts it (Restart=on-failure), and HAProxy takes it back
    assert wait_for(lambda: service_pids(up, serving, "keystone"), 15)
    assert wait_for(lambda: haproxy_server_states(up, balancer).get(serving) == "UP", 60)


def test_kill_haproxy_on_the_vip_holder_moves_the_vip(up):
    holder = up.vip_holder()
    victims = service_pids(up, holder, "haproxy")
    for pid in victims:
        kill(pid, signal.SIGKILL)
    new = wait_for(lambda: (h := up.vip_holder()) not in (None, holder) and h, 10)
    assert new, "the VIP did not move"
    assert wait_for(lambda: api_ok(up), 10)["X-Lab-Balancer"] == new
    assert wait_for(lambda: service_pids(up, holder, "haproxy"), 15)  # back, by its init


def test_mgmt_link_down_inside_a_controller_cuts_it_off(up):
    node = up.plan.node(other_controller(up, up.vip_holder()))
    assert ping(node.mgmt_ip)
    run(["ip", "netns", "exec", node.netns, "ip", "link", "set", "br-mgmt", "down"])
    try:
        assert not ping(node.mgmt_ip, count=2)
        assert not ssh_banner(node.mgmt_ip, timeout=2)
        assert served_after_losing(up), "two controllers no longer serve the API"
    finally:
        run(["ip", "netns", "exec", node.netns, "ip", "link", "set", "br-mgmt", "up"])
    assert wait_for(lambda: ping(node.mgmt_ip), 10)


def test_power_off_a_compute_silences_its_vm_until_power_on(up):
    vm = up.plan.vms[0]
    power = up.power(vm.host)
    assert ping(vm.address)
    power.off()
    try:
        assert power.state() is False
        assert not ping(vm.address, count=2)
        assert not ping(up.plan.node(vm.host).mgmt_ip)
    finally:
        power.on()
    assert power.state() is True
    assert wait_for(lambda: ping(vm.address), 10)
    assert wait_for(lambda: ssh_banner(up.plan.node(vm.host).mgmt_ip), 10)


def test_power_off_a_controller_leaves_nothing_running_in_it(up):
    name = other_controller(up, up.vip_holder())
    power = up.power(name)
    before = node_processes(up, name)
    assert len(before) >= 5  # init, sshd, keystone x2, haproxy, keepalived...
    power.off()
    try:
        assert power.state() is False
        assert not any(alive(pid) for pid in before)
        assert node_processes(up, name) == {}
        assert not ping(up.plan.node(name).mgmt_ip)
        assert served_after_losing(up), "two controllers no longer serve the API"
    finally:
        power.on()
    assert wait_for(lambda: set(up.services(name).values()) == {"running"}, 30)
    assert not set(node_processes(up, name)) & set(before)


def test_power_off_the_vip_holder_moves_the_vip_and_it_rejoins_without_it(up):
    holder = up.vip_holder()
    power = up.power(holder)
    power.off()
    try:
        new = wait_for(lambda: (h := up.vip_holder()) not in (None, holder) and h, 10)
        assert new
        assert served_after_losing(up), "the new VIP holder does not serve the API"
    finally:
        power.on()
    assert wait_for(lambda: set(up.services(holder).values()) == {"running"}, 30)
    holders = [n.name for n in up.plan.controllers
               if f" {up.plan.vip}/" in run(["ip", "-n", n.netns, "-o", "addr"]).stdout]
    assert holders == [new], "a rebooted node must not come back holding the VIP"
