"""service-status against the nova double; host-status against a real sshd + virtual IPMI BMC."""

from __future__ import annotations

import time

import pytest
from fake_cloud import PASSWORD, FakeCloud
from fake_machine import BMC_PASSWORD

from ha_tests.errors import PreflightError
from ha_tests.monitors.cloud_status import (
    HostStatusMonitor,
    HostStatusParams,
    ServiceStatusMonitor,
    ServiceStatusParams,
)


def service_monitor(ctx, nodes=(), timeout=2.0, **params) -> ServiceStatusMonitor:
    mon = ServiceStatusMonitor("svc", ServiceStatusParams.model_validate(params), list(nodes),
                               ctx, timeout=timeout)
    mon.setup()
    return mon


def host_monitor(ctx, timeout=5.0, **params) -> HostStatusMonitor:
    mon = HostStatusMonitor("host", HostStatusParams.model_validate(params),
                            list(ctx.inventory.nodes), ctx, timeout=timeout)
    mon.setup()
    return mon


def first_ok(mon, seconds: float = 15.0):
    """The first good sample (cold paths: BMC login, API discovery; a busy test host)."""
    deadline = time.monotonic() + seconds
    while True:
        result = mon.probe()
        if result.ok or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_service_status_follows_nova(fake_cloud, cloud_ctx):
    mon = service_monitor(cloud_ctx, host="cmp1")
    result = mon.probe()
    assert result.ok, result.detail
    assert result.detail["state"] == "up" and result.detail["forced_down"] is False
    assert "updated_at" in result.detail
    fake_cloud.set_service(state="down", forced_down=True,
                           updated_at="2026-01-01T00:01:00.000000")
    result = mon.probe()
    assert not result.ok
    assert result.detail == {"state": "down", "status": "enabled", "forced_down": True,
                             "updated_at": "2026-01-01T00:01:00.000000",
                             "disabled_reason": None}
    fake_cloud.stop()
    try:
        result = mon.probe()
        assert not result.ok and PASSWORD not in result.detail["error"]
    finally:
        fake_cloud.start()


def test_service_status_preflight(fake_cloud, cloud_ctx, tmp_path, context_factory):
    with pytest.raises(PreflightError, match="no nova-compute on cmp9.*it knows: cmp1"):
        service_monitor(cloud_ctx, host="cmp9")
    with pytest.raises(PreflightError, match="host"):
        service_monitor(cloud_ctx)
    bare = FakeCloud(with_compute=False).start()
    try:
        ctx = context_factory(cloud="fake", clouds_yaml=bare.clouds_yaml(tmp_path / "c.yaml"))
        with pytest.raises(PreflightError, match=r"the cloud has no compute service \(nova\)"):
            service_monitor(ctx, host="cmp1")
    finally:
        bare.stop()
    fake_cloud.stop()
    try:  # a sign-in that fails is not a catalog without nova
        with pytest.raises(PreflightError, match="cannot read the cloud's catalog"):
            service_monitor(cloud_ctx, host="cmp1")
    finally:
        fake_cloud.start()


def test_host_status_ground_truth_through_power_off(machine, context_factory):
    ctx = context_factory(**machine.inventory())
    mon = host_monitor(ctx)
    result = first_ok(mon)
    assert result.ok, result.detail
    assert result.detail["power"] == "on" and result.detail["ping"] is True
    assert result.detail["ssh"] is True and result.detail["host_up"] is True
    assert "unavailable" in result.detail["cloud_view"]   # no cloud in this inventory
    machine.power.off()
    try:
        result = mon.probe()
        assert not result.ok
        assert result.detail["power"] == "off" and result.detail["ssh"] is False
        assert BMC_PASSWORD not in repr(result.detail)
    finally:
        machine.power.on()
    assert mon.probe().ok
    mon.teardown()


def test_host_status_flags_the_cloud_disagreeing(machine, fake_cloud, tmp_path,
                                                 context_factory):
    fake_cloud.set_service(host="m1")
    fake_cloud.hypervisors[0]["hypervisor_hostname"] = "m1.example.org"
    inventory = machine.inventory(cloud="fake",
                                  clouds_yaml=fake_cloud.clouds_yaml(tmp_path / "c.yaml"))
    mon = host_monitor(context_factory(**inventory))
    result = first_ok(mon)
    assert result.ok and result.detail["cloud"]["state"] == "up"
    assert result.detail["cloud"]["hypervisor"] == {"state": "up", "status": "enabled"}
    assert "cloud_disagrees" not in result.detail
    fake_cloud.set_service(state="down")              # nova-compute "died", host fine
    result = mon.probe()
    assert result.ok and result.detail["cloud_disagrees"] == ["m1"]
    machine.power.off()                               # now the host is off, nova still "up"
    fake_cloud.set_service(state="up")
    try:
        result = mon.probe()
        assert not result.ok and result.detail["cloud_disagrees"] == ["m1"]
    finally:
        machine.power.on()


def test_host_status_dead_bmc_is_bounded(machine, context_factory):
    ctx = context_factory(**machine.inventory())
    mon = host_monitor(ctx, timeout=2.0, checks=["bmc", "ssh"], cloud_view=False)
    assert first_ok(mon).ok
    machine.stop_bmc()
    result = mon.probe()  # the BMC's part gives up; the SSH part still answers
    assert not result.ok and result.detail["power"] is None
    assert result.detail["ssh"] is True and result.detail["cloud_view"] == "off"


def test_host_status_needs_bmc_when_asked(context_factory):
    ctx = context_factory(nodes=[{"name": "n", "address": "127.0.0.1"}])
    with pytest.raises(PreflightError, match="no 'bmc:'"):
        host_monitor(ctx, checks=["bmc"])
    with pytest.raises(PreflightError, match="no compute service"):
        host_monitor(ctx, cloud_view=True)
