"""partition in a namespace pair: the peer is cut off, only this run's rules are removed."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ha_tests.attackers import deadman
from ha_tests.attackers.partition import Partition, PartitionParams
from ha_tests.errors import PreflightError


def make(pair, **params) -> Partition:
    return Partition("split", PartitionParams(**params), [pair.ctx.inventory.node("a")],
                     pair.ctx)


def saved(pair, side: str = "a") -> str:
    return pair.run(side, "iptables-save").stdout + pair.run(side, "ip6tables-save").stdout


def tcp_connects(pair, port: int) -> bool:
    code = ("import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])),"
            " timeout=0.5).close()\nexcept OSError:\n sys.exit(1)\n")
    return pair.run("b", sys.executable, "-c", code, pair.addr["a"], str(port)).returncode == 0


def test_peer_cut_off_then_back_and_foreign_rules_kept(pair):
    foreign = ["iptables", "-w", "5", "-A", "INPUT", "-s", "198.51.100.7", "-m", "comment",
               "--comment", "ha-tests:partition:0ther0ne", "-j", "DROP"]
    assert pair.run("a", *foreign).returncode == 0
    assert pair.run("a", "iptables", "-A", "OUTPUT", "-d", "198.51.100.8", "-m", "comment",
                    "--comment", "operator-rule", "-j", "ACCEPT").returncode == 0
    attacker = make(pair, peers=["b"], duration=30)
    attacker.preflight()
    assert pair.addr["b"] in attacker.plan["a"] and pair.addr6["b"] in attacker.plan["a"]
    assert pair.addr["a"] in attacker.plan["b"]  # symmetric: b drops a as well
    assert pair.pings()
    detail = attacker.inject()
    try:
        assert detail["rules"]["a"] > 0 and detail["rules"]["b"] > 0
        assert not pair.pings()
        assert pair.run("b", "fping", "-c1", "-t300", "-q", pair.addr6["a"]).returncode != 0
        assert attacker.tag in saved(pair)
    finally:
        attacker.rollback()
    attacker.verify()
    assert pair.pings()
    rules = saved(pair)
    assert attacker.ident not in rules and attacker.ident not in saved(pair, "b")
    assert "ha-tests:partition:0ther0ne" in rules and "operator-rule" in rules
    assert deadman.tagged_pids(pair.ctx.shell("a"), "partition.deadman", attacker.ident) == []


def test_the_node_removes_its_rules_when_the_runner_is_lost(pair):
    attacker = make(pair, peers=["b"], all_addresses=False, duration=2)
    attacker.inject()
    assert not pair.pings()
    time.sleep(1.5)
    deadline = time.monotonic() + 3
    while not pair.pings():
        assert time.monotonic() < deadline, "the dead-man timer did not remove the rules"
    for side in "ab":  # pings return with the jumps gone; the timers then drop the chains
        assert deadman.wait_gone(pair.ctx.shell(side), "partition.deadman", attacker.ident,
                                 5) == []
    assert attacker.ident not in saved(pair) + saved(pair, "b")
    attacker.verify()


def test_one_sided_partition_touches_only_the_targets(pair):
    attacker = make(pair, peers=["b"], symmetric=False, duration=30)
    attacker.inject()
    try:
        assert not pair.pings()
        assert attacker.tag in saved(pair) and attacker.ident not in saved(pair, "b")
    finally:
        attacker.rollback()
    attacker.verify()


@pytest.fixture
def server(pair):
    port = 8765
    listen = ("import socket,sys\ns = socket.create_server((sys.argv[1], int(sys.argv[2])))\n"
              "while True:\n s.accept()[0].close()\n")
    proc = subprocess.Popen(["ip", "netns", "exec", pair.ns["a"], sys.executable, "-c", listen,
                             pair.addr["a"], str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not tcp_connects(pair, port):
        assert time.monotonic() < deadline, "test server did not start"
    yield port
    proc.kill()
    proc.wait(5)


def test_one_port_cut_for_everyone_while_ping_still_works(pair, server):
    attacker = make(pair, port=server, action="reject", duration=30)
    attacker.preflight()
    attacker.inject()
    try:
        assert not tcp_connects(pair, server)
        assert pair.pings()
    finally:
        attacker.rollback()
    attacker.verify()
    assert tcp_connects(pair, server)


def test_cutting_the_ssh_port_with_keep_ssh_is_refused(pair):
    with pytest.raises(PreflightError, match="SSH port"):
        make(pair, port=22, duration=3).preflight()


def test_unknown_peers_fail_preflight_with_the_known_names(pair):
    with pytest.raises(PreflightError, match="known: a, b"):
        make(pair, peers=["c"], duration=3).preflight()


def test_params_need_something_to_cut():
    with pytest.raises(ValueError, match="needs"):
        PartitionParams(duration=3)
    with pytest.raises(ValueError, match="not an IP"):
        PartitionParams(addresses=["10.0.0.1; touch /tmp/pwned"])
