"""openstack-cmd: the real openstack CLI against the loopback keystone double."""

from __future__ import annotations

import os
import sys

import pytest
from fake_cloud import PASSWORD

from ha_tests.monitors.openstack_cmd import OpenstackCmdMonitor, OpenstackCmdParams


def monitor(ctx, nodes=(), timeout=15.0, **params) -> OpenstackCmdMonitor:
    mon = OpenstackCmdMonitor("cli", OpenstackCmdParams.model_validate(params), list(nodes),
                              ctx, timeout=timeout)
    mon.setup()
    return mon


def test_user_list_ok_then_fails_when_keystone_is_down(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, command_name="openstack user list", expect_output="admin")
    result = mon.probe()
    assert result.ok, result.detail
    assert result.latency > 0
    fake_cloud.stop()
    try:
        result = mon.probe()
        assert not result.ok and result.detail["rc"] != 0
        assert result.detail["error"] and PASSWORD not in result.detail["error"]
    finally:
        fake_cloud.start()


def test_timeout_kills_the_cli(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, command="user list", timeout=1.0)
    fake_cloud.delay = 3.0
    try:
        result = mon.probe()
    finally:
        fake_cloud.delay = 0.0
    assert not result.ok and "did not finish" in result.detail["error"]


def test_on_a_node(fake_cloud, tmp_path, context_factory, monkeypatch):
    path = fake_cloud.clouds_yaml(tmp_path / "clouds.yaml")
    ctx = context_factory(cloud="fake", clouds_yaml=path, nodes=[
        {"name": "here", "address": "127.0.0.1", "transport": "local"}])
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + ":" + os.environ["PATH"])
    mon = monitor(ctx, nodes=[ctx.inventory.node("here")], command="openstack project list")
    assert mon.probe().ok
    assert mon.cli.node.name == "here" and mon.cli.binary == "openstack"  # found on the node


def test_params():
    assert OpenstackCmdParams.model_validate({"command": "image list"}).command == \
        ["openstack", "image", "list"]
    with pytest.raises(ValueError):
        OpenstackCmdParams.model_validate({"command": ""})
