"""Fixtures for the cloud-facing monitors and the power attackers."""

from __future__ import annotations

import os

import pytest
from netns_helpers import NetnsTargets

from ha_tests.context import RunContext
from ha_tests.inventory import Inventory


def make_context(**inventory) -> RunContext:
    inventory.setdefault("nodes", [])
    return RunContext(Inventory.model_validate(inventory))


@pytest.fixture
def context_factory():
    made: list[RunContext] = []

    def make(**inventory) -> RunContext:
        ctx = make_context(**inventory)
        made.append(ctx)
        return ctx
    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture(scope="module")
def netns_targets():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    targets = NetnsTargets(8).up()
    try:
        yield targets
    finally:
        targets.down()


@pytest.fixture
def fake_cloud():
    from fake_cloud import FakeCloud

    cloud = FakeCloud().start()
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud_ctx(fake_cloud, tmp_path, context_factory):
    """A RunContext whose inventory points at the fake cloud through a clouds.yaml."""
    path = fake_cloud.clouds_yaml(tmp_path / "clouds.yaml")
    return context_factory(cloud="fake", clouds_yaml=path,
                           vips={"api": "127.0.0.1"})


@pytest.fixture
def machine(tmp_path):
    """A real sshd "host" on loopback whose power is switched by a real virtual IPMI BMC."""
    if os.geteuid() != 0:
        pytest.skip("sshd needs root")
    from fake_machine import FakeMachine

    fake = FakeMachine(tmp_path / "machine").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def lab_inventory_path(lab):
    """The inventory of the suite's session lab (tests/conftest.py)."""
    return str(lab.inventory_path)


@pytest.fixture
def lab_ctx(lab_inventory_path):
    from ha_tests.inventory import load_inventory

    ctx = RunContext(load_inventory(lab_inventory_path))
    yield ctx
    ctx.close()
