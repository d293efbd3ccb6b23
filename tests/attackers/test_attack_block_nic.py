"""block-nic against a real veth link in a namespace: traffic dies, and comes back by itself."""

from __future__ import annotations

import time

import pytest

from ha_tests.attackers import deadman
from ha_tests.attackers.block_nic import BlockNic, BlockNicParams
from ha_tests.errors import PreflightError, RollbackError


def make(pair, **params) -> BlockNic:
    params.setdefault("interface", "mgmt")
    return BlockNic("cut", BlockNicParams(**params), [pair.ctx.inventory.node("a")], pair.ctx)


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_ping_dies_during_the_fault_and_returns_after_rollback(pair):
    attacker = make(pair, duration=30)
    assert pair.pings()
    attacker.preflight()
    detail = attacker.inject()
    try:
        assert detail["interfaces"] == {"a": pair.dev["a"]}
        assert not pair.link_up()
        assert not pair.pings()
        assert "default via" not in pair.routes()  # the kernel dropped it with the link
    finally:
        attacker.rollback()
    attacker.verify()
    assert pair.link_up()
    assert wait_for(pair.pings, 3)
    routes = pair.routes()
    assert f"default via {pair.addr['b']}" in routes
    assert "192.0.2.0/24 via" in routes and "metric 7" in routes
    shell = pair.ctx.shell("a")
    assert deadman.tagged_pids(shell, "block-nic.deadman", attacker.ident) == []


def test_the_node_restores_the_link_when_the_runner_never_rolls_back(pair):
    attacker = make(pair, duration=2)
    started = time.monotonic()  # the timer is armed after this: it cannot fire before +2
    attacker.inject()
    assert not pair.pings()
    # the runner is "lost": no rollback, no heal; only the node-side timer is left
    assert wait_for(pair.link_up, 6)
    assert time.monotonic() - started >= 2  # the node held the fault for its duration
    assert wait_for(pair.pings, 3)
    assert f"default via {pair.addr['b']}" in pair.routes()
    assert deadman.wait_gone(pair.ctx.shell("a"), "block-nic.deadman", attacker.ident) == []
    attacker.verify()


def test_rollback_right_after_inject_leaves_no_pending_link_down(pair):
    attacker = make(pair, duration=20)
    attacker.inject()
    attacker.rollback()
    time.sleep(0.3)  # longer than the detached link-down's delay
    assert pair.link_up()
    attacker.verify()


def test_rollback_without_inject_touches_nothing(pair):
    attacker = make(pair, duration=5)
    assert attacker.rollback() == {"restored": {}}
    attacker.verify()


def test_preflight_refuses_a_missing_interface_and_a_missing_duration(pair):
    with pytest.raises(PreflightError, match="no interface"):
        make(pair, interface="nonexistent0", duration=1).preflight()
    with pytest.raises(PreflightError, match="duration"):
        make(pair).preflight()


def test_heal_after_a_lost_runner_uses_the_ledger_state(pair):
    first = make(pair, duration=30)
    first.inject()
    state = first.ledger_state()
    second = make(pair, duration=30)  # a new process: ha-tests heal
    second.restore_state(state)
    second.heal()
    second.verify()
    assert pair.link_up() and wait_for(pair.pings, 3)
    assert deadman.tagged_pids(pair.ctx.shell("a"), "block-nic.deadman", first.ident) == []


def test_verify_fails_while_a_route_the_link_had_is_missing(pair):
    attacker = make(pair, duration=30)
    attacker.inject()
    attacker.rollback()
    attacker.verify()
    pair.run("a", "ip", "route", "del", "192.0.2.0/24")  # a restore that missed one
    with pytest.raises(RollbackError, match="192.0.2.0/24"):
        attacker.verify()
    attacker.heal()  # puts it back
    attacker.verify()
    assert "192.0.2.0/24 via" in pair.routes()
