"""The lab's virtual BMCs, driven by real IPMI clients (ipmitool and pyghmi)."""

from __future__ import annotations

import pytest
from labcheck import healthy, ping, wait_for

from ha_tests.lab import bmc

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(not bmc.available(), reason="ha_tests/lab/vbmc.py missing")]


@pytest.fixture
def up(lab):
    assert wait_for(lambda: healthy(lab), 90)
    yield lab
    assert wait_for(lambda: healthy(lab), 90), "the test left the lab broken"


def test_ipmitool_reads_every_nodes_power(up):
    for node in up.plan.nodes:
        assert bmc.power_state(up.plan, node.bmc_ip) == "on", node.name


def test_ipmitool_power_off_and_on_a_compute(up):
    node = up.plan.computes[-1]
    vm = node.vms[0]
    power = up.power(node.name)
    assert bmc.ipmitool(up.plan, node.bmc_ip, "chassis", "power", "off").returncode == 0
    try:
        assert wait_for(lambda: not power.state(), 5)
        assert bmc.power_state(up.plan, node.bmc_ip) == "off"
        assert not ping(vm.address)
    finally:
        assert bmc.ipmitool(up.plan, node.bmc_ip, "chassis", "power", "on").returncode == 0
    assert wait_for(power.state, 10)
    assert bmc.power_state(up.plan, node.bmc_ip) == "on"
    assert wait_for(lambda: ping(vm.address), 10)


def test_pyghmi_client_reads_power_and_wrong_password_is_refused(up):
    from pyghmi.ipmi import command

    node = up.plan.nodes[0]
    password = bmc.password_file(up.plan).read_text().strip()
    session = command.Command(bmc=node.bmc_ip, userid="admin", password=password)
    try:
        assert session.get_power()["powerstate"] == "on"
    finally:
        session.ipmi_session.logout()
    result = bmc.ipmitool(up.plan, node.bmc_ip, "chassis", "power", "status")
    assert result.returncode == 0
    wrong = bmc.run(["ipmitool", "-I", "lanplus", "-H", node.bmc_ip, "-U", "admin",
                     "-P", "not-the-password", "-N", "1", "-R", "1",
                     "chassis", "power", "status"], check=False)
    assert wrong.returncode != 0


def test_ipmitool_power_cycle_reboots_the_node_and_soft_off_halts_it(up):
    node = up.plan.computes[0]
    power = up.power(node.name)
    first_init = power.init_process()
    assert bmc.ipmitool(up.plan, node.bmc_ip, "chassis", "power", "cycle").returncode == 0
    assert wait_for(lambda: (p := power.init_process()) and p != first_init, 15)
    assert wait_for(lambda: ping(node.vms[0].address), 10)
    assert bmc.ipmitool(up.plan, node.bmc_ip, "chassis", "power", "soft").returncode == 0
    try:
        assert wait_for(lambda: not power.state(), 15)
        assert "node halted" in (up.plan.node_dir(node.name) / "log" / "console.log").read_text()
    finally:
        assert bmc.ipmitool(up.plan, node.bmc_ip, "chassis", "power", "on").returncode == 0
    assert wait_for(power.state, 10)
