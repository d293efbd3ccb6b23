"""The lab's address plan (docs/contracts.rst), computed from its name and range alone."""

from __future__ import annotations

import pytest

from ha_tests.lab.plan import LabPlan


def test_the_default_plan_is_the_contracts_plan():
    plan = LabPlan()
    assert (plan.host_ip, plan.bmc_host_ip, plan.vip) == ("10.199.0.1", "10.199.1.1",
                                                          "10.199.0.10")
    assert [(n.name, n.mgmt_ip, n.bmc_ip) for n in plan.nodes] == [
        ("ctl1", "10.199.0.11", "10.199.1.11"), ("ctl2", "10.199.0.12", "10.199.1.12"),
        ("ctl3", "10.199.0.13", "10.199.1.13"), ("cmp1", "10.199.0.21", "10.199.1.21"),
        ("cmp2", "10.199.0.22", "10.199.1.22")]
    assert [(vm.name, vm.netns, vm.address) for vm in plan.vms] == [
        ("cmp1-vm1", "halab-cmp1-vm1", "10.199.101.11"),
        ("cmp2-vm1", "halab-cmp2-vm1", "10.199.102.11")]
    assert plan.auth_url == "http://10.199.0.10:5000/v3"


def test_another_name_and_range_share_nothing_with_the_default():
    one, two = LabPlan(), LabPlan("halabt", "10.198.0.0/16")
    names = lambda p: {p.bridge} | {n.netns for n in p.nodes} | {v.netns for v in p.vms}  # noqa: E731
    addresses = lambda p: {p.vip, p.host_ip} | {n.mgmt_ip for n in p.nodes}  # noqa: E731
    assert not names(one) & names(two)
    assert not addresses(one) & addresses(two)
    assert all(len(n.host_link) <= 15 for n in two.nodes)


def test_namespace_pattern_never_matches_a_longer_labs_names():
    pattern = LabPlan("halab").netns_pattern()
    assert pattern.match("halab-ctl1") and pattern.match("halab-cmp2-vm1")
    assert not pattern.match("halabt-ctl1") and not pattern.match("halab-x-ctl1")


@pytest.mark.parametrize("name", ["", "HaLab", "1lab", "a-b", "elevenchars"])
def test_names_that_would_break_link_names_are_refused(name):
    with pytest.raises(ValueError, match="lab name"):
        LabPlan(name)


@pytest.mark.parametrize("cidr", ["10.199.0.0/24", "fd00::/16", "nonsense"])
def test_ranges_smaller_than_a_16_are_refused(cidr):
    with pytest.raises(ValueError, match="--cidr"):
        LabPlan(cidr=cidr)


def test_a_bigger_lab_keeps_every_address_and_name_distinct():
    plan = LabPlan("hbench", "10.192.0.0/16", computes=50)
    assert [n.name for n in plan.computes] == [f"cmp{i}" for i in range(1, 51)]
    addresses = [a for n in plan.nodes for a in (n.mgmt_ip, n.bmc_ip)] + \
        [vm.address for vm in plan.vms] + [plan.vip, plan.host_ip]
    assert len(addresses) == len(set(addresses))
    assert plan.node("cmp50").mgmt_ip == "10.192.0.70"
    assert plan.node("cmp50").vms[0].subnet == "10.192.150.0/24"
    assert all(len(n.host_link) <= 15 for n in plan.nodes)
    assert all(plan.netns_pattern().match(n.netns) for n in plan.nodes)
    with pytest.raises(ValueError, match="--computes"):
        LabPlan("hbench", "10.192.0.0/16", computes=71)
