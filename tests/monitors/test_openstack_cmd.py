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


@pytest.fixture
def bogus_cloud_in_environment(tmp_path, monkeypatch):
    """The runner's environment points at another cloud, as a sourced openrc would."""
    bogus = tmp_path / "bogus-clouds.yaml"
    bogus.write_text('{"clouds": {"bogus": {"auth": {"auth_url": "http://127.0.0.1:9/v3", '
                     '"username": "nobody", "password": "bogus-password-4711", '
                     '"project_name": "x"}}}}')
    for name, value in {"OS_CLOUD": "bogus", "OS_CLIENT_CONFIG_FILE": str(bogus),
                        "OS_AUTH_URL": "http://127.0.0.1:9/v3", "OS_USERNAME": "nobody",
                        "OS_PASSWORD": "bogus-password-4711", "OS_PROJECT_NAME": "x"}.items():
        monkeypatch.setenv(name, value)


def inline_auth(fake_cloud) -> dict:
    return {"auth_url": fake_cloud.base, "username": "admin", "password": PASSWORD,
            "project_name": "admin"}


def test_the_runners_os_variables_never_redirect_the_cli(fake_cloud, cloud_ctx,
                                                          bogus_cloud_in_environment):
    mon = monitor(cloud_ctx, command="openstack user list", expect_output="admin")
    result = mon.probe()
    assert result.ok, result.detail


def test_inline_auth_reaches_the_inventorys_cloud(fake_cloud, context_factory,
                                                   bogus_cloud_in_environment):
    ctx = context_factory(auth=inline_auth(fake_cloud))
    issued = fake_cloud.issued
    mon = monitor(ctx, command="openstack user list", expect_output="admin")
    result = mon.probe()
    assert result.ok, result.detail
    assert fake_cloud.issued > issued  # it authenticated here, not at the bogus cloud


def test_inline_auth_on_a_node_gets_a_private_clouds_yaml(fake_cloud, context_factory,
                                                           bogus_cloud_in_environment,
                                                           monkeypatch, tmp_path):
    """The local transport inherits the runner's environment: the node side must drop it."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + ":" + os.environ["PATH"])
    monkeypatch.setenv("TMPDIR", str(tmp_path / "node-tmp"))
    (tmp_path / "node-tmp").mkdir()
    ctx = context_factory(auth=inline_auth(fake_cloud), nodes=[
        {"name": "here", "address": "127.0.0.1", "transport": "local"}])
    mon = monitor(ctx, nodes=[ctx.inventory.node("here")], command="openstack user list",
                  expect_output="admin")
    result = mon.probe()
    assert result.ok, result.detail
    assert list((tmp_path / "node-tmp").iterdir()) == []  # the credentials file is gone


def test_an_inventory_with_no_cloud_uses_the_api_monitors_cloud(fake_cloud, context_factory,
                                                                 monkeypatch):
    """Yardstick's way (an openrc in the environment): the CLI gets the cloud config the
    API monitors resolved, as a generated clouds.yaml, not the variables themselves."""
    for name, value in {"OS_AUTH_URL": fake_cloud.base, "OS_USERNAME": "admin",
                        "OS_PASSWORD": PASSWORD, "OS_PROJECT_NAME": "admin",
                        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                        "OS_IDENTITY_API_VERSION": "3"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OS_CLOUD", raising=False)
    mon = monitor(context_factory(), command="openstack user list", expect_output="admin")
    assert mon.cli.generated is not None and "OS_" not in str(mon.cli.__dict__)
    assert mon.probe().ok
