"""``lab down`` leaves nothing behind, also after a crash. Runs last among the lab tests (it
takes the session's lab down, checks, and brings it back for the tests after it)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

import pytest
from lab_settings import LAB_NAME
from labcheck import healthy, wait_for

from ha_tests.lab import Lab
from ha_tests.lab.system import alive, cmdline, ip, netns_list

pytestmark = pytest.mark.lab


def traces(lab: Lab) -> list[str]:
    """Everything of the lab the host still shows: namespaces, links, routes, addresses,
    mounts, processes, files."""
    found = [f"netns {ns}" for ns in netns_list() if lab.plan.netns_pattern().match(ns)]
    links = ip("-o", "link", "show").stdout
    found += [f"link {lab.plan.bridge}"] if f" {lab.plan.bridge}:" in links else []
    found += [f"link {n.host_link}" for n in lab.plan.nodes if f" {n.host_link}@" in links]
    routes = ip("route", "show").stdout.splitlines()
    found += [f"route {vm.subnet}" for vm in lab.plan.vms
              if any(r.startswith(f"{vm.subnet} ") for r in routes)]
    addresses = ip("-o", "addr", "show").stdout
    found += [f"address {a}" for a in (lab.plan.host_ip, lab.plan.vip,
                                        *(n.bmc_ip for n in lab.plan.nodes))
              if f" {a}/" in addresses]
    with open("/proc/mounts") as mounts:
        found += [f"mount {line.split()[1]}" for line in mounts
                  if str(lab.dir) in line or f"/run/netns/{lab.name}-" in line]
    found += [f"process {pid}: {cmdline(pid)}" for pid in map(int, filter(
        str.isdigit, os.listdir("/proc"))) if str(lab.dir) in cmdline(pid) and alive(pid)
        and pid != os.getpid()]
    found += [f"directory {lab.dir}"] if lab.dir.exists() else []
    return found


def test_down_after_a_crash_finds_the_leftovers_by_name():
    name = f"{LAB_NAME[:8]}cr"
    crashed = Lab(name=name, cidr="10.250.0.0/16")  # never addressed
    node = crashed.plan.nodes[0]
    ip("netns", "add", node.netns)
    ip("link", "add", crashed.plan.bridge, "type", "bridge")
    ip("link", "add", node.host_link, "type", "veth", "peer", "name", "br-mgmt",
       "netns", node.netns)
    crashed.dir.mkdir(parents=True, exist_ok=True)
    (crashed.dir / "lab.json").write_text('{"state": "starting"}')
    orphan = subprocess.Popen(["ip", "netns", "exec", node.netns, "unshare", "--pid",
                               "--fork", "--mount-proc", "sleep", "600"])
    time.sleep(0.3)
    try:
        crashed.down()
        assert orphan.wait(timeout=5) is not None
        assert traces(crashed) == []
    finally:
        if orphan.poll() is None:
            orphan.kill()
        crashed.down()


def test_down_leaves_nothing_then_up_again(lab):
    assert wait_for(lambda: healthy(lab), 90)
    processes = lab.processes()
    assert processes
    lab.down()
    assert traces(lab) == []
    assert not any(alive(pid) for pid in processes)
    assert lab.status()["state"] == "absent"
    # up again, for any test that comes after in this session
    assert lab.up() is True  # how long it takes is a benchmark's figure, not a test's
    assert wait_for(lambda: healthy(lab), 60)


def test_up_rebuilds_a_lab_whose_processes_died_with_their_session(lab):
    """A killed session (or a host that lost its processes) leaves namespaces, bridge and
    state saying 'up' behind: up must not trust them."""
    assert wait_for(lambda: healthy(lab), 90)
    try:
        for pid in lab.processes():
            with contextlib.suppress(ProcessLookupError):  # a short-lived child may be gone
                os.kill(pid, 9)
        assert wait_for(lambda: not lab.processes(), 10)
        assert lab.is_up()  # what the state and the bridge still claim
        broken = lab.broken_parts()
        assert "the hypervisor is not running" in broken
        steps = []
        assert lab.up(progress=steps.append) is True
        assert any("up but broken" in text and "hypervisor" in text for text in steps), steps
        assert lab.broken_parts() == []
        assert wait_for(lambda: healthy(lab), 60)
    finally:
        if lab.broken_parts():  # whatever failed above, the tests after this one get a lab
            lab.up()
