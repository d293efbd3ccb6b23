"""The cloud-facing monitors and the power attackers against the lab's real keystone,
haproxy, VIP, VMs and virtual BMCs."""

from __future__ import annotations

import time

import pytest

from ha_tests.attackers.power import PowerOff, PowerParams, PowerReset
from ha_tests.errors import PreflightError
from ha_tests.monitors.api import ApiMonitor, ApiParams
from ha_tests.monitors.cloud_status import (
    HostStatusMonitor,
    HostStatusParams,
    ServiceStatusMonitor,
    ServiceStatusParams,
)
from ha_tests.monitors.openstack_cmd import OpenstackCmdMonitor, OpenstackCmdParams
from ha_tests.monitors.token_validity import TokenValidityMonitor, TokenValidityParams
from ha_tests.monitors.vm_ping import VmPingMonitor, VmPingParams
from ha_tests.services import service_argv

pytestmark = pytest.mark.lab


def make(cls, params_cls, ctx, nodes=(), timeout=3.0, **params):
    mon = cls(cls.__name__, params_cls.model_validate(params), list(nodes), ctx,
              timeout=timeout)
    mon.setup()
    return mon


def until(probe, want: bool, seconds: float, pause: float = 0.2):
    deadline = time.monotonic() + seconds
    while True:
        result = probe()
        if result.ok == want or time.monotonic() >= deadline:
            return result
        time.sleep(pause)


def keystone(ctx, action: str, nodes) -> None:
    service = ctx.inventory.service("keystone")
    for node in nodes:
        ctx.shell(node).run(service_argv("keystone", service, action), timeout=60).check()


def controllers(ctx):
    return ctx.inventory.nodes_with_role("controller")


def test_api_token_issue_fails_while_keystone_is_down_everywhere(lab_ctx):
    mon = make(ApiMonitor, ApiParams, lab_ctx, service="identity", timeout=10.0)
    first = until(mon.probe, True, 30)
    assert first.ok, first.detail
    assert first.detail["status"] == 201
    nodes = controllers(lab_ctx)
    keystone(lab_ctx, "stop", nodes)
    try:
        result = until(mon.probe, False, 15)
        assert not result.ok, "token-issue still ok with keystone stopped on every controller"
    finally:
        keystone(lab_ctx, "start", nodes)
    result = until(mon.probe, True, 90)
    assert result.ok, result.detail
    mon.teardown()


def test_openstack_cli_user_list(lab_ctx):
    mon = make(OpenstackCmdMonitor, OpenstackCmdParams, lab_ctx, timeout=20.0,
               command="openstack user list", expect_output="admin")
    result = until(mon.probe, True, 30, pause=1)
    assert result.ok, result.detail


def test_tokens_survive_one_keystone_going_away(lab_ctx):
    # generous timeouts: the lab's keystones (one worker each) on a busy host can take
    # seconds per validation, and two of them carry the load while the third is stopped
    mon = make(TokenValidityMonitor, TokenValidityParams, lab_ctx, timeout=20.0, tokens=3,
               auth_url="http://{vip:api}:5000/v3")
    first = until(mon.probe, True, 60)
    assert first.ok, first.detail
    victim = controllers(lab_ctx)[0]
    keystone(lab_ctx, "stop", [victim])
    try:
        results = [mon.probe() for _ in range(2)]
        results.append(until(mon.probe, True, 60))
    finally:
        keystone(lab_ctx, "start", [victim])
    # the point of gap-3: no token was ever answered "invalid" through the VIP
    assert all(r.detail["lost"] == 0 and r.detail["invalid"] == 0 for r in results), \
        [r.detail for r in results]
    assert results[-1].ok, results[-1].detail
    assert results[-1].detail["fraction_stayed_valid"] == 1.0
    mon.teardown()


def test_vm_ping_and_host_status_through_a_power_off(lab_ctx):
    inventory = lab_ctx.inventory
    cmp1 = inventory.node("cmp1")
    ping = make(VmPingMonitor, VmPingParams, lab_ctx, timeout=1.0, vms="all")
    host = make(HostStatusMonitor, HostStatusParams, lab_ctx, nodes=[cmp1], timeout=3.0)
    result = until(ping.probe, True, 10)
    assert result.ok and result.detail["total"] == len(inventory.lab.vms), result.detail
    status = until(host.probe, True, 10)
    assert status.ok, status.detail
    assert status.detail["power"] == "on" and status.detail["ping"] and status.detail["ssh"]
    assert "no compute service" in status.detail["cloud_view"]

    power = PowerOff("power-off", PowerParams(boot_timeout=90), [cmp1], lab_ctx)
    power.preflight()
    injected = power.inject()
    try:
        assert injected["nodes"]["cmp1"]["after"] == "off"
        result = until(ping.probe, False, 5)
        vms_on_cmp1 = [vm.name for vm in inventory.lab.vms if vm.host == "cmp1"]
        assert not result.ok and result.detail["unreachable"] == vms_on_cmp1
        status = until(host.probe, False, 5)
        assert status.detail["power"] == "off"
        assert status.detail["ping"] is False and status.detail["ssh"] is False
    finally:
        rolled = power.rollback()
    assert rolled["nodes"]["cmp1"]["powered_on"] is True
    power.verify()
    assert until(host.probe, True, 30).ok
    assert until(ping.probe, True, 30).ok
    host.teardown()


def test_service_status_needs_nova(lab_ctx):
    if any(n.has_role("compute") for n in lab_ctx.inventory.nodes) and \
            lab_ctx.inventory.service("nova-compute"):
        pytest.skip("this lab has nova; covered by the nova scenarios")
    with pytest.raises(PreflightError, match=r"the cloud has no compute service \(nova\)"):
        make(ServiceStatusMonitor, ServiceStatusParams, lab_ctx, host="cmp1")


def test_power_reset_of_a_compute_is_a_real_reboot(lab_ctx):
    cmp2 = lab_ctx.inventory.node("cmp2")
    power = PowerReset("power-reset", PowerParams(boot_timeout=90), [cmp2], lab_ctx)
    power.preflight()
    marker_before = power._marker(cmp2)
    power.inject()
    detail = power.rollback()["nodes"]["cmp2"]
    power.verify()
    assert detail["rebooted"] is True, detail
    assert power._marker(cmp2) != marker_before      # a new PID 1 on the node


SCENARIO = """\
name: power-off-compute
description: power a compute off over IPMI; its VM goes silent; rollback brings both back
gap: gap-2
targets:
  victim: {nodes: [cmp1]}
attackers:
  - type: power-off
    target: victim
    boot_timeout: 90
monitors:
  - type: vm-ping
    name: vms
    vms: all
    interval: 0.2
    timeout: 0.5
  - type: host-status
    name: host
    target: victim
    interval: 1
    timeout: 3
    gate: false
  - type: api
    name: identity
    service: identity
    interval: 1
    timeout: 10
timing:
  baseline: 2
  fault_duration: 3
  observe: 8
  recovery_timeout: 90
"""


def test_power_off_scenario_through_the_runner(lab_ctx, tmp_path):
    from ha_tests.events import read_events
    from ha_tests.runner import ScenarioRunner
    from ha_tests.scenario import load_scenario

    path = tmp_path / "power-off-compute.yaml"
    path.write_text(SCENARIO)
    outcome = ScenarioRunner(load_scenario(path), lab_ctx.inventory, tmp_path / "results",
                             seed=1).run()
    events = read_events(outcome.result_dir / "events.jsonl")
    rollback = [e for e in events if e["kind"] == "attack" and e["action"] == "rolled-back"]
    assert rollback and rollback[0]["ok"], rollback
    vm_fail = [e for e in events if e["kind"] == "sample" and e["monitor"] == "vms"
               and not e["ok"]]
    assert vm_fail and all(e["detail"]["unreachable"] == ["cmp1-vm1"] for e in vm_fail
                           if "detail" in e and "unreachable" in e["detail"])
    host_off = [e for e in events if e["kind"] == "sample" and e["monitor"] == "host"
                and e.get("detail", {}).get("power") == "off"]
    assert host_off, "host-status never saw the power off"
    assert outcome.status in ("pass", "fail"), outcome.summary   # ran and rolled back


def test_vm_ping_from_a_node_with_fping(lab_ctx):
    # from its compute node, a VM is one hop away (the lab routes VM subnets on the host)
    vms = [vm.name for vm in lab_ctx.inventory.lab.vms if vm.host == "cmp1"]
    ping = make(VmPingMonitor, VmPingParams, lab_ctx, timeout=2.0, vms=vms,
                **{"from": "cmp1"})
    result = until(ping.probe, True, 10)
    assert result.ok, result.detail
    assert result.detail["reachable"] == len(vms) and result.latency > 0
