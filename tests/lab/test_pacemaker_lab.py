"""The Pacemaker-style lab (``ha-tests lab up --style pacemaker``) against the real thing:
Debian's Corosync and Pacemaker on the three controllers, holding the VIP (IPaddr2) and
running HAProxy (a clone), as TripleO's controllers do; keepalived runs nowhere.

Proven here, by what the cluster itself says (``crm_mon``, asked over SSH as an operator):
- the cluster forms, HAProxy runs on every controller and the VIP on one;
- discovery from the lab's ``pod.yaml`` alone finds HAProxy as the Pacemaker resource
  ``haproxy-clone`` with ``pcs`` to control it, and the VIP from the IPaddr2 resource;
- Pacemaker restarts a killed HAProxy (its fail count goes up, a new process runs);
- a stop and a start through ``pcs``, as discovery says to run them, really stop HAProxy
  everywhere (and the VIP with it) and bring both back;
- the VIP holder powered off: Pacemaker moves the VIP and Keystone answers through it again;
  powered on, the node rejoins the cluster.

A lab of its own (``HA_TESTS_TEST_PACEMAKER_LAB_NAME`` / ``_CIDR``), up once for the module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from lab_session import session_lab
from lab_settings import PACEMAKER_LAB_CIDR, PACEMAKER_LAB_NAME
from labcheck import healthy, node_processes, ssh, wait_for

from ha_tests.inventory import load_inventory
from ha_tests.lab import keystone, pacemaker
from ha_tests.services import service_argv

pytestmark = [pytest.mark.lab, pytest.mark.skipif(
    pacemaker.missing() is not None, reason=f"{pacemaker.missing()}")]


@pytest.fixture(scope="module")
def pacemaker_lab():
    with session_lab(PACEMAKER_LAB_NAME, PACEMAKER_LAB_CIDR, label="pacemaker lab up",
                     style="pacemaker") as lab:
        yield lab


def crm_mon(lab, node: str) -> ET.Element:
    """``crm_mon`` on a node over SSH: the cluster's own word."""
    rc, out = ssh(lab, node, "crm_mon --one-shot --output-as=xml", timeout=60)
    assert rc == 0, out
    return ET.fromstring(out)


def started_on(status: ET.Element, resource: str) -> list[str]:
    return sorted(n.get("name") for r in status.iter("resource") if r.get("id") == resource
                  and r.get("role") == "Started" for n in r.iter("node"))


def online(status: ET.Element) -> list[str]:
    return sorted(n.get("name") for n in status.find("nodes") if n.get("online") == "true")


def haproxy_pids(lab, node: str) -> list[int]:
    return [pid for pid, line in node_processes(lab, node).items()
            if line.startswith("/usr/sbin/haproxy ")]


def answers(lab) -> bool:
    try:
        return bool(keystone.issue_token(lab.plan.auth_url, lab.admin_password, timeout=3)[0])
    except OSError:
        return False


def test_pacemaker_holds_the_vip_and_runs_haproxy_everywhere_and_keepalived_runs_nowhere(
        pacemaker_lab):
    lab = pacemaker_lab
    controllers = [c.name for c in lab.plan.controllers]
    status = crm_mon(lab, controllers[1])
    assert online(status) == controllers
    assert started_on(status, "haproxy") == controllers
    assert started_on(status, pacemaker.VIP_RESOURCE) == [lab.vip_holder()]
    for node in controllers:
        lines = node_processes(lab, node).values()
        assert not [line for line in lines if "keepalived" in line], node
        assert haproxy_pids(lab, node), node
    assert answers(lab)


def test_discovery_from_pod_yaml_finds_haproxy_as_a_pacemaker_resource_and_the_vip(
        pacemaker_lab, tmp_path):
    lab = pacemaker_lab
    out = tmp_path / "inventory.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "ha_tests.cli", "discover", "-i", str(lab.pod_yaml_path),
         "--known-hosts", str(lab.dir / "ssh" / "known_hosts"), "-o", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    inventory = load_inventory(out)
    haproxy = inventory.services["haproxy"]
    assert (haproxy.manager, haproxy.resource) == ("pacemaker", pacemaker.HAPROXY_RESOURCE)
    assert len(haproxy.nodes) == 3
    assert service_argv("haproxy", haproxy, "stop") == \
        ["pcs", "resource", "disable", pacemaker.HAPROXY_RESOURCE]
    assert "keepalived" not in inventory.services
    assert list(inventory.vips.values()) == [lab.plan.vip]
    assert f"pacemaker IPaddr2 resource {pacemaker.VIP_RESOURCE}" in out.read_text()


def test_pacemaker_restarts_a_killed_haproxy(pacemaker_lab):
    lab = pacemaker_lab
    node = next(c.name for c in lab.plan.controllers if c.name != lab.vip_holder())
    [before] = haproxy_pids(lab, node)
    os.kill(before, signal.SIGKILL)  # a crash: no one told Pacemaker
    assert wait_for(lambda: haproxy_pids(lab, node) not in ([], [before]), 60)
    rc, out = ssh(lab, node, f"crm_failcount --query -r haproxy -N {node}", timeout=60)
    assert rc == 0 and "value=1" in out, out  # Pacemaker's monitor saw it fail, and restarted it
    rc, out = ssh(lab, node, "crm_resource --cleanup -r haproxy", timeout=60)
    assert rc == 0, out


def test_a_stop_and_a_start_through_pcs_really_happen(pacemaker_lab):
    lab = pacemaker_lab
    controllers = [c.name for c in lab.plan.controllers]
    service = load_inventory(lab.inventory_path).services["haproxy"]
    try:
        rc, out = ssh(lab, controllers[0], " ".join(service_argv("haproxy", service, "stop")),
                      timeout=60)
        assert rc == 0, out
        # every HAProxy stopped, and the VIP, which may run only where HAProxy does
        assert wait_for(lambda: not any(haproxy_pids(lab, n) for n in controllers), 60)
        assert wait_for(lambda: lab.vip_holder() is None, 30)
        assert started_on(crm_mon(lab, controllers[0]), "haproxy") == []
    finally:
        rc, out = ssh(lab, controllers[0],
                      " ".join(service_argv("haproxy", service, "start")), timeout=60)
    assert rc == 0, out
    assert wait_for(lambda: all(haproxy_pids(lab, n) for n in controllers), 60)
    assert wait_for(lambda: lab.vip_holder() is not None and answers(lab), 60)


def test_the_vip_holder_powered_off_pacemaker_moves_the_vip_and_the_node_rejoins(
        pacemaker_lab):
    lab = pacemaker_lab
    holder = lab.vip_holder()
    others = [c.name for c in lab.plan.controllers if c.name != holder]
    power = lab.power(holder)
    power.off()
    try:
        assert wait_for(lambda: lab.vip_holder() in others, 90)
        assert wait_for(lambda: answers(lab), 60)
        assert online(crm_mon(lab, others[0])) == others
    finally:
        power.on()
    assert wait_for(lambda: online(crm_mon(lab, others[0])) == sorted([holder, *others]), 120)
    assert wait_for(lambda: started_on(crm_mon(lab, others[0]), "haproxy") ==
                    sorted([holder, *others]), 60)
    assert wait_for(lambda: healthy(lab), 120)
