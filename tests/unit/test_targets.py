"""Blast radius: which nodes a target names, picked reproducibly, and who holds a VIP."""

from __future__ import annotations

import random

import pytest

from ha_tests.inventory import Inventory
from ha_tests.scenario import TargetSpec
from ha_tests.targets import node_addresses, pick
from ha_tests.transport.base import CommandResult


class FakeShells:
    """The one stand-in here: canned `ip -o addr` text per node (the parser is under test)."""

    def __init__(self, outputs):
        self.outputs = outputs

    def get(self, node):
        outputs = self.outputs

        class Shell:
            def run(self, argv, timeout):
                return CommandResult(tuple(argv), 0, outputs[node.name], "", 0.0)
        return Shell()


IP_O_ADDR = {
    "c1": "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
          "2: br-mgmt    inet 10.0.0.11/24 brd 10.0.0.255 scope global br-mgmt\\ x\n"
          "2: br-mgmt    inet 10.0.0.10/32 scope global br-mgmt\\ x\n"
          "2: br-mgmt    inet6 fe80::1/64 scope link \\ x\n",
    "c2": "2: br-mgmt    inet 10.0.0.12/24 brd 10.0.0.255 scope global br-mgmt\\ x\n",
    "c3": "2: br-mgmt    inet 10.0.0.13/24 brd 10.0.0.255 scope global br-mgmt\\ x\n",
}


@pytest.fixture
def inventory():
    return Inventory(name="t", vips={"api": "10.0.0.10"}, nodes=[
        {"name": n, "roles": ["controller"], "address": f"10.0.0.1{i}"}
        for i, n in enumerate(["c1", "c2", "c3"], 1)])


def test_addresses_are_read_from_one_line_output(inventory):
    found = node_addresses(FakeShells(IP_O_ADDR), inventory.node("c1"))
    assert found == {"127.0.0.1", "10.0.0.11", "10.0.0.10", "fe80::1"}


@pytest.mark.parametrize("blast, size", [("one", 1), ("minority", 1), ("majority", 2),
                                         ("all", 3)])
def test_blast_radius_sizes(inventory, blast, size):
    chosen = pick(TargetSpec(role="controller", pick=blast), inventory, FakeShells(IP_O_ADDR),
                  random.Random(1))
    assert len(chosen) == size


def test_the_same_seed_replays_the_same_pick(inventory):
    spec = TargetSpec(role="controller", pick="one")
    picks = {pick(spec, inventory, FakeShells(IP_O_ADDR), random.Random(42))[0].name
             for _ in range(5)}
    assert len(picks) == 1


def test_vip_holder_and_the_others(inventory):
    shells = FakeShells(IP_O_ADDR)
    holder = pick(TargetSpec(role="controller", pick="vip-holder"), inventory, shells,
                  random.Random(0))
    assert [n.name for n in holder] == ["c1"]
    other = pick(TargetSpec(role="controller", pick="not-vip-holder"), inventory, shells,
                 random.Random(0))
    assert other and other[0].name in ("c2", "c3")
